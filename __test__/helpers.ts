// Shared test helpers: a module on a fresh SQLite file, a way to read that file with the
// sqlite3 command-line shell (an independent reader), a recording event bus and a message
// aggregator shaped like Medusa's (@medusajs/utils MessageAggregator).
import { execFileSync } from "node:child_process"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { UserModuleService, type EventMessage, type UserModuleOptions } from ".."

export const SECRET = "test-secret-0f3c9a"

/** A fresh folder under the OS temp dir. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "medusa-invites-test-"))
}

/** Rows of `sql` read from the SQLite file by the sqlite3 shell. */
export function rows<T = Record<string, unknown>>(file: string, sql: string): T[] {
  const out = execFileSync("sqlite3", ["-json", file, sql], { encoding: "utf8" })
  return out.trim() === "" ? [] : (JSON.parse(out) as T[])
}

export function count(file: string, table = "invite"): number {
  return rows<{ n: number }>(file, `select count(*) as n from "${table}"`)[0].n
}

/** Records every `emit(messages, options)`. */
export class RecordingBus {
  calls: { messages: EventMessage[]; options: unknown; argCount: number }[] = []
  async emit(messages: EventMessage[], options?: unknown): Promise<void> {
    // eslint-disable-next-line prefer-rest-params
    this.calls.push({ messages, options, argCount: arguments.length })
  }
  get names(): string[] {
    return this.calls.flatMap((call) => call.messages.map((message) => message.name))
  }
}

/** The behaviour of Medusa's MessageAggregator (save dedupes by JSON, getMessages groups). */
export class MedusaLikeAggregator {
  #messages: EventMessage[] = []
  #hashes = new Set<string>()
  calls: string[] = []
  count(): number {
    return this.#messages.length
  }
  save(message: EventMessage | EventMessage[]): void {
    this.calls.push("save")
    for (const one of Array.isArray(message) ? message : [message]) {
      const hash = JSON.stringify(one)
      if (!this.#hashes.has(hash)) {
        this.#hashes.add(hash)
        this.#messages.push(one)
      }
    }
  }
  getMessages(): Record<string, EventMessage[]> {
    this.calls.push("getMessages")
    return { default: [...this.#messages] }
  }
  clearMessages(): void {
    this.calls.push("clearMessages")
    this.#messages.length = 0
    this.#hashes.clear()
  }
}

export interface TestModule {
  service: UserModuleService
  bus: RecordingBus
  file: string
  close(): Promise<void>
}

/** A module on a fresh SQLite file with a recording bus; `options` override the defaults. */
export function newModule(options: Partial<UserModuleOptions> = {}): TestModule {
  const file = join(tempDir(), "invites.sqlite")
  const bus = new RecordingBus()
  const service = new UserModuleService({ jwt_secret: SECRET, database: `sqlite:${file}`, eventBus: bus, ...options })
  return { service, bus, file, close: () => service.close() }
}

/** The error a promise rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<any> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a rejection, but the promise resolved")
}

/** Decodes one base64url JSON part of a token, keeping the text for key-order checks. */
export function tokenPart(token: string, index: 0 | 1): { text: string; json: Record<string, unknown> } {
  const text = Buffer.from(token.split(".")[index], "base64url").toString("utf8")
  return { text, json: JSON.parse(text) }
}

/** Runs `body` with a fresh module and closes it afterwards, whatever happens. */
export async function withModule(body: (m: TestModule) => Promise<void>, options: Partial<UserModuleOptions> = {}): Promise<void> {
  const m = newModule(options)
  try {
    await body(m)
  } finally {
    await m.close()
  }
}
