// A Medusa application whose user module is medusa-invites (MEDUSA_USER_MODULE=@medusajs/user
// boots Medusa's own instead, for the side-by-side benchmark).
import { defineConfig } from "@medusajs/framework/utils"

const userModule = process.env.MEDUSA_USER_MODULE ?? "medusa-invites/medusa"

module.exports = defineConfig({
  projectConfig: {
    databaseUrl: process.env.DATABASE_URL,
    http: {
      jwtSecret: process.env.JWT_SECRET ?? "app-jwt-secret",
      cookieSecret: process.env.COOKIE_SECRET ?? "app-cookie-secret",
      storeCors: "http://127.0.0.1",
      adminCors: "http://127.0.0.1",
      authCors: "http://127.0.0.1",
    },
  },
  admin: { disable: true },
  modules: [
    {
      resolve: userModule,
      options: { jwt_secret: process.env.INVITE_JWT_SECRET ?? "invite-jwt-secret" },
    },
  ],
})
