// Events (docs/behaviour.md): Medusa's names and shapes,
// delivered once after commit, through the event bus and the caller's message aggregator.
import { test, describe } from "node:test"
import assert from "node:assert/strict"
import { MedusaError, type EventMessage } from ".."
import { withOptions, expectedMessages, TOKEN_GENERATED, CREATED, count, rows, rejection, RecordingBus, MedusaLikeAggregator } from "./helpers"




/** deepEqual plus the exact key order of each message and of its metadata. */
function assertMessages(actual: EventMessage[], expected: EventMessage[]): void {
  assert.deepEqual(actual, expected)
  for (const message of actual) {
    assert.deepEqual(Object.keys(message), ["name", "metadata", "data", "options"])
    assert.ok(Object.prototype.hasOwnProperty.call(message, "options"), "options is an own key")
    assert.equal(message.options, undefined)
    const metadataKeys = ["source", "object", "action"]
    if ("eventGroupId" in message.metadata) metadataKeys.push("eventGroupId")
    assert.deepEqual(Object.keys(message.metadata), metadataKeys)
    assert.deepEqual(Object.keys(message.data as object), ["id"])
  }
}

/** The single emit call of a bus, checked for its argument count and options. */
function onlyEmit(bus: RecordingBus): EventMessage[] {
  assert.equal(bus.calls.length, 1, "exactly one emit per createInvites")
  const [call] = bus.calls
  assert.equal(call.argCount, 2)
  assert.deepEqual(call.options, { internal: true })
  assert.ok(Array.isArray(call.messages))
  return call.messages
}

/** A minimal aggregator: a plain object with only save/getMessages/clearMessages. */
function plainRecorder() {
  const recorder = {
    held: [] as EventMessage[],
    log: [] as string[],
    save(messages: EventMessage | EventMessage[]) {
      recorder.log.push("save")
      recorder.held.push(...(Array.isArray(messages) ? messages : [messages]))
    },
    getMessages() {
      recorder.log.push("getMessages")
      return { default: [...recorder.held] }
    },
    clearMessages() {
      recorder.log.push("clearMessages")
      recorder.held.length = 0
    },
  }
  return recorder
}

function preMessage(name: string, id: string): EventMessage {
  return { name, metadata: { source: "test", object: "thing", action: "pre" }, data: { id }, options: undefined }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe("messages on the event bus", () => {
  test("a single invite: created then token_generated (string id), exact shape and key order", async () => {
    await withOptions({}, async (m) => {
      const invite = await m.service.createInvites({ email: "single@example.com" })
      const messages = onlyEmit(m.bus)
      assertMessages(messages, [
        {
          name: "user.invite.created",
          metadata: { source: "user", object: "invite", action: "created" },
          data: { id: invite.id },
          options: undefined,
        },
        {
          name: "user.user.invite.token_generated",
          metadata: { source: "user", object: "invite", action: "token_generated" },
          data: { id: invite.id },
          options: undefined,
        },
      ])
      assert.equal(typeof messages[1].data, "object")
      assert.equal(typeof (messages[1].data as { id: unknown }).id, "string")
    })
  })

  test("three invites: three created in input order, then one token_generated with the array of ids", async () => {
    await withOptions({}, async (m) => {
      // Caller ids that do not sort in input order, so the order checked is the input's.
      const input = [
        { id: "invite_C", email: "c@example.com" },
        { id: "invite_A", email: "a@example.com" },
        { id: "invite_B", email: "b@example.com" },
      ]
      const invites = await m.service.createInvites(input)
      assert.deepEqual(invites.map((i) => i.id), ["invite_C", "invite_A", "invite_B"])
      const messages = onlyEmit(m.bus)
      assert.deepEqual(m.bus.names, [CREATED, CREATED, CREATED, TOKEN_GENERATED])
      assertMessages(messages, expectedMessages(["invite_C", "invite_A", "invite_B"]))
      assert.ok(Array.isArray((messages[3].data as { id: unknown }).id))
    })
  })

  test("three generated ids: events carry the returned ids in the returned order", async () => {
    await withOptions({}, async (m) => {
      const invites = await m.service.createInvites([
        { email: "x1@example.com" },
        { email: "x2@example.com" },
        { email: "x3@example.com" },
      ])
      assertMessages(onlyEmit(m.bus), expectedMessages(invites.map((i) => i.id)))
    })
  })

  test("an array of ONE: token_generated data.id is a string, not an array", async () => {
    await withOptions({}, async (m) => {
      const invites = await m.service.createInvites([{ email: "one@example.com" }])
      assert.equal(invites.length, 1)
      const messages = onlyEmit(m.bus)
      assertMessages(messages, expectedMessages([invites[0].id]))
      assert.equal((messages[1].data as { id: unknown }).id, invites[0].id)
    })
  })

  test("[] emits nothing at all and resolves []", async () => {
    await withOptions({}, async (m) => {
      const result = await m.service.createInvites([])
      assert.deepEqual(result, [])
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("[] with an aggregator: nothing saved, emitted or cleared", async () => {
    await withOptions({}, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      aggregator.save(preMessage("pre.existing", "p1"))
      aggregator.calls.length = 0
      assert.deepEqual(await m.service.createInvites([], { messageAggregator: aggregator }), [])
      assert.equal(m.bus.calls.length, 0)
      assert.equal(aggregator.count(), 1)
      assert.ok(!aggregator.calls.includes("save"))
      assert.ok(!aggregator.calls.includes("clearMessages"))
    })
  })

  test("exactly one emit per call, each with exactly (messages, { internal: true })", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "e1@example.com" })
      await m.service.createInvites([{ email: "e2@example.com" }, { email: "e3@example.com" }])
      await m.service.createInvites([{ email: "e4@example.com" }])
      assert.equal(m.bus.calls.length, 3)
      for (const call of m.bus.calls) {
        assert.equal(call.argCount, 2)
        assert.deepEqual(call.options, { internal: true })
      }
      assert.deepEqual(
        m.bus.calls.map((call) => call.messages.length),
        [2, 3, 2],
      )
    })
  })

  test("no message carries the token", async () => {
    await withOptions({}, async (m) => {
      const invites = await m.service.createInvites([{ email: "t1@example.com" }, { email: "t2@example.com" }])
      const text = JSON.stringify(m.bus.calls)
      for (const invite of invites) assert.ok(!text.includes(invite.token))
    })
  })
})

describe("eventGroupId", () => {
  test("is appended as the last metadata key of every message, nowhere else", async () => {
    await withOptions({}, async (m) => {
      const invites = await m.service.createInvites([{ email: "g1@example.com" }, { email: "g2@example.com" }], {
        eventGroupId: "grp-1",
        requestId: "req-1",
      })
      const messages = onlyEmit(m.bus)
      assertMessages(messages, expectedMessages(invites.map((i) => i.id), "grp-1"))
      for (const message of messages) {
        assert.deepEqual(Object.keys(message.metadata), ["source", "object", "action", "eventGroupId"])
        assert.equal(message.metadata.eventGroupId, "grp-1")
      }
      assert.deepEqual(m.bus.calls[0].options, { internal: true })
      assert.ok(!JSON.stringify(messages).includes("req-1"))
    })
  })

  test("single invite with eventGroupId", async () => {
    await withOptions({}, async (m) => {
      const invite = await m.service.createInvites({ email: "g@example.com" }, { eventGroupId: "grp-2" })
      assertMessages(onlyEmit(m.bus), expectedMessages([invite.id], "grp-2"))
    })
  })

  test("an empty eventGroupId adds no key (Medusa adds it only when truthy)", async () => {
    await withOptions({}, async (m) => {
      const invite = await m.service.createInvites({ email: "g0@example.com" }, { eventGroupId: "" })
      assertMessages(onlyEmit(m.bus), expectedMessages([invite.id]))
    })
  })

  test("works together with the aggregator", async () => {
    await withOptions({}, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const pre = preMessage("pre.existing", "p1")
      aggregator.save(pre)
      const invites = await m.service.createInvites([{ email: "ga@example.com" }, { email: "gb@example.com" }], {
        eventGroupId: "grp-3",
        messageAggregator: aggregator,
      })
      const messages = onlyEmit(m.bus)
      assert.equal(messages[0], pre)
      assertMessages(messages.slice(1), expectedMessages(invites.map((i) => i.id), "grp-3"))
      assert.equal(aggregator.count(), 0)
    })
  })

  test("with preventReleaseEvents the saved messages carry eventGroupId", async () => {
    await withOptions({}, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const invite = await m.service.createInvites({ email: "gp@example.com" }, {
        eventGroupId: "grp-4",
        messageAggregator: aggregator,
        preventReleaseEvents: true,
      })
      assert.equal(m.bus.calls.length, 0)
      assertMessages(aggregator.getMessages().default, expectedMessages([invite.id], "grp-4"))
    })
  })
})

describe("delivery timing", () => {
  test("events are emitted after commit: inside emit the rows are already in the file", async () => {
    let file = ""
    const seen: { count: number; ids: string[]; messageIds: unknown[] }[] = []
    const bus = {
      emit(messages: EventMessage[]) {
        seen.push({
          count: count(file),
          ids: rows<{ id: string }>(file, "select id from invite order by id").map((r) => r.id),
          messageIds: messages.filter((msg) => msg.name === CREATED).map((msg) => (msg.data as { id: unknown }).id),
        })
      },
    }
    await withOptions({ eventBus: bus }, async (m) => {
      file = m.file
      const invites = await m.service.createInvites([
        { id: "invite_2", email: "c2@example.com" },
        { id: "invite_1", email: "c1@example.com" },
      ])
      assert.equal(seen.length, 1)
      assert.deepEqual(seen[0], {
        count: 2,
        ids: ["invite_1", "invite_2"],
        messageIds: invites.map((i) => i.id),
      })
    })
  })

  test("a slow async emit is awaited: createInvites resolves only after emit resolves", async () => {
    const order: string[] = []
    const bus = {
      emit() {
        order.push("emit called")
        return delay(150).then(() => {
          order.push("emit resolved")
        })
      },
    }
    await withOptions({ eventBus: bus }, async (m) => {
      const started = Date.now()
      await m.service.createInvites({ email: "slow@example.com" })
      order.push("createInvites resolved")
      assert.deepEqual(order, ["emit called", "emit resolved", "createInvites resolved"])
      assert.ok(Date.now() - started >= 140)
    })
  })

  test("a slow emit with an aggregator: cleared only after emit resolved", async () => {
    const order: string[] = []
    const bus = {
      emit() {
        return delay(100).then(() => {
          order.push("emit resolved")
        })
      },
    }
    await withOptions({ eventBus: bus }, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const originalClear = aggregator.clearMessages.bind(aggregator)
      aggregator.clearMessages = () => {
        order.push("cleared")
        originalClear()
      }
      await m.service.createInvites({ email: "slowagg@example.com" }, { messageAggregator: aggregator })
      order.push("createInvites resolved")
      assert.deepEqual(order, ["emit resolved", "cleared", "createInvites resolved"])
    })
  })
})

describe("failures", () => {
  test("a duplicate email emits nothing", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "dup@example.com" })
      m.bus.calls.length = 0
      const error = await rejection(m.service.createInvites({ email: "dup@example.com" }))
      assert.equal(error.message, "Invite with email: dup@example.com, already exists.")
      assert.equal(m.bus.calls.length, 0)
      const batchError = await rejection(
        m.service.createInvites([{ email: "new@example.com" }, { email: "new@example.com" }]),
      )
      assert.equal(batchError.type, "invalid_data")
      assert.equal(m.bus.calls.length, 0)
      assert.equal(count(m.file), 1)
    })
  })

  test("an existing user emits nothing", async () => {
    await withOptions({}, async (m) => {
      await m.service.createUsers({ email: "user@example.com" })
      // createUsers announces the user, as Medusa does; the refused createInvites nothing.
      assert.deepEqual(m.bus.names, ["user.user.created"])
      m.bus.calls.length = 0
      const error = await rejection(m.service.createInvites([{ email: "ok@example.com" }, { email: "user@example.com" }]))
      assert.equal(error.message, "User account for following email(s) already exist: user@example.com")
      assert.equal(m.bus.calls.length, 0)
      assert.equal(count(m.file), 0)
    })
  })

  for (const [label, data] of [
    ["missing email", { accepted: true }],
    ["numeric email", { email: 5 }],
    ["malformed email", { email: "no-at-sign" }],
    ["second item bad", [{ email: "fine@example.com" }, { email: null }]],
    ["null data", null],
  ] as [string, unknown][]) {
    test(`bad input (${label}) emits nothing and writes nothing`, async () => {
      await withOptions({}, async (m) => {
        // One good call first, so the database file exists and holds a known row.
        await m.service.createInvites({ email: "seed@example.com" })
        m.bus.calls.length = 0
        const error = await rejection(m.service.createInvites(data as any))
        assert.ok(error instanceof MedusaError)
        assert.equal(error.type, "invalid_data")
        assert.equal(m.bus.calls.length, 0)
        assert.equal(count(m.file), 1)
      })
    })
  }

  test("on failure the aggregator is untouched (nothing saved, emitted or cleared)", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "taken@example.com" })
      m.bus.calls.length = 0
      const aggregator = new MedusaLikeAggregator()
      const pre = preMessage("pre.existing", "p1")
      aggregator.save(pre)
      aggregator.calls.length = 0
      await rejection(
        m.service.createInvites([{ email: "free@example.com" }, { email: "taken@example.com" }], {
          messageAggregator: aggregator,
        }),
      )
      await rejection(m.service.createInvites({ email: 42 } as any, { messageAggregator: aggregator }))
      assert.deepEqual(aggregator.calls, [])
      assert.equal(aggregator.count(), 1)
      assert.deepEqual(aggregator.getMessages().default, [pre])
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("on failure a plain recorder aggregator is untouched", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "taken@example.com" })
      m.bus.calls.length = 0
      const recorder = plainRecorder()
      await rejection(m.service.createInvites({ email: "taken@example.com" }, { messageAggregator: recorder }))
      assert.deepEqual(recorder.log, [])
      assert.deepEqual(recorder.held, [])
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("preventReleaseEvents without an aggregator is invalid_argument; nothing written or emitted", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "seed@example.com" })
      m.bus.calls.length = 0
      const error = await rejection(m.service.createInvites({ email: "p@example.com" }, { preventReleaseEvents: true }))
      assert.ok(error instanceof MedusaError)
      assert.equal(error.type, "invalid_argument")
      assert.equal(m.bus.calls.length, 0)
      assert.equal(count(m.file), 1)
    })
  })
})

describe("emit failures", () => {
  test("emit rejecting: createInvites rejects with that same error object; invites stay committed", async () => {
    const boom = new Error("bus down")
    let calls = 0
    const bus = {
      async emit() {
        calls++
        throw boom
      },
    }
    await withOptions({ eventBus: bus }, async (m) => {
      const error = await rejection(m.service.createInvites([{ email: "r1@example.com" }, { email: "r2@example.com" }]))
      assert.equal(error, boom)
      assert.equal(calls, 1)
      assert.equal(count(m.file), 2)
      assert.deepEqual(
        rows<{ email: string }>(m.file, "select email from invite order by email").map((r) => r.email),
        ["r1@example.com", "r2@example.com"],
      )
    })
  })

  test("emit throwing synchronously: the call rejects (not throws) with that same error; invites committed", async () => {
    const boom = new TypeError("sync boom")
    const bus = {
      emit() {
        throw boom
      },
    }
    await withOptions({ eventBus: bus }, async (m) => {
      let promise: Promise<unknown> | undefined
      assert.doesNotThrow(() => {
        promise = m.service.createInvites({ email: "s@example.com" })
      })
      const error = await rejection(promise!)
      assert.equal(error, boom)
      assert.equal(count(m.file), 1)
    })
  })

  test("emit rejecting with a non-Error value: the call rejects with that value", async () => {
    const reason = { code: "E_BUS" }
    const bus = { emit: () => Promise.reject(reason) }
    await withOptions({ eventBus: bus }, async (m) => {
      const error = await rejection(m.service.createInvites({ email: "v@example.com" }))
      assert.equal(error, reason)
      assert.equal(count(m.file), 1)
    })
  })

  test("emit failing with an aggregator: the aggregator is not cleared (keeps earlier and new messages)", async () => {
    const boom = new Error("bus down")
    const bus = { emit: async () => Promise.reject(boom) }
    await withOptions({ eventBus: bus }, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const pre = preMessage("pre.existing", "p1")
      aggregator.save(pre)
      const invites = await rejection(
        m.service.createInvites([{ email: "f1@example.com" }, { email: "f2@example.com" }], {
          messageAggregator: aggregator,
        }),
      )
      assert.equal(invites, boom)
      assert.ok(!aggregator.calls.includes("clearMessages"))
      assert.equal(aggregator.count(), 4)
      const held = aggregator.getMessages().default
      assert.equal(held[0], pre)
      const ids = rows<{ id: string; email: string }>(m.file, "select id, email from invite")
      const byEmail = new Map(ids.map((r) => [r.email, r.id]))
      assertMessages(held.slice(1), expectedMessages([byEmail.get("f1@example.com")!, byEmail.get("f2@example.com")!]))
      assert.equal(count(m.file), 2)
    })
  })
})

describe("no eventBus", () => {
  test("nothing is emitted and the call still works", async () => {
    await withOptions({ eventBus: undefined }, async (m) => {
      const invite = await m.service.createInvites({ email: "nobus@example.com" })
      assert.match(invite.id, /^invite_[0-9A-HJKMNP-TV-Z]{26}$/)
      const many = await m.service.createInvites([{ email: "nb1@example.com" }, { email: "nb2@example.com" }])
      assert.equal(many.length, 2)
      assert.equal(m.bus.calls.length, 0)
      assert.equal(count(m.file), 3)
    })
  })

  test("the aggregator keeps the messages (count n+1) and is not cleared", async () => {
    await withOptions({ eventBus: undefined }, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const invites = await m.service.createInvites(
        [{ email: "k1@example.com" }, { email: "k2@example.com" }, { email: "k3@example.com" }],
        { messageAggregator: aggregator },
      )
      assert.equal(aggregator.count(), 4)
      assert.ok(aggregator.calls.includes("save"))
      assert.ok(!aggregator.calls.includes("clearMessages"))
      assertMessages(aggregator.getMessages().default, expectedMessages(invites.map((i) => i.id)))
      assert.equal(m.bus.calls.length, 0)
    })
  })

  test("with earlier messages in the aggregator: they stay first, ours are appended", async () => {
    await withOptions({ eventBus: undefined }, async (m) => {
      const recorder = plainRecorder()
      const pre = preMessage("pre.existing", "p1")
      recorder.held.push(pre)
      const invite = await m.service.createInvites({ email: "k@example.com" }, { messageAggregator: recorder })
      assert.ok(!recorder.log.includes("clearMessages"))
      assert.equal(recorder.held.length, 3)
      assert.equal(recorder.held[0], pre)
      assertMessages(recorder.held.slice(1), expectedMessages([invite.id]))
    })
  })
})

describe("aggregator with an event bus", () => {
  test("MedusaLikeAggregator: messages saved, everything emitted in ONE emit (earlier first), then cleared", async () => {
    await withOptions({}, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const pre1 = preMessage("pre.existing", "p1")
      const pre2 = preMessage("pre.raw", "p2")
      aggregator.save(pre1)
      aggregator.save(pre2)
      aggregator.calls.length = 0
      const invites = await m.service.createInvites([{ email: "a1@example.com" }, { email: "a2@example.com" }], {
        messageAggregator: aggregator,
      })
      const messages = onlyEmit(m.bus)
      assert.equal(messages.length, 5)
      assert.equal(messages[0], pre1)
      assert.equal(messages[1], pre2)
      assertMessages(messages.slice(2), expectedMessages(invites.map((i) => i.id)))
      assert.equal(aggregator.count(), 0)
      // saved before anything is read or cleared; cleared last
      assert.ok(aggregator.calls.includes("save"))
      assert.ok(aggregator.calls.indexOf("save") < aggregator.calls.indexOf("clearMessages"))
      assert.equal(aggregator.calls.at(-1), "clearMessages")
      assert.equal(aggregator.calls.filter((c) => c === "clearMessages").length, 1)
    })
  })

  test("MedusaLikeAggregator, empty beforehand, single invite", async () => {
    await withOptions({}, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const invite = await m.service.createInvites({ email: "solo@example.com" }, { messageAggregator: aggregator })
      assertMessages(onlyEmit(m.bus), expectedMessages([invite.id]))
      assert.equal(aggregator.count(), 0)
    })
  })

  test("clearMessages is called after emit (the bus sees the messages before they are cleared)", async () => {
    const seenCounts: number[] = []
    const aggregator = new MedusaLikeAggregator()
    const bus = {
      emit(messages: EventMessage[]) {
        seenCounts.push(messages.length, aggregator.count())
      },
    }
    await withOptions({ eventBus: bus }, async (m) => {
      await m.service.createInvites({ email: "order@example.com" }, { messageAggregator: aggregator })
      assert.deepEqual(seenCounts, [2, 2])
      assert.equal(aggregator.count(), 0)
    })
  })

  test("a minimal plain-object recorder: saved, emitted once with earlier messages first, then cleared", async () => {
    await withOptions({}, async (m) => {
      const recorder = plainRecorder()
      const pre = preMessage("pre.existing", "p1")
      recorder.held.push(pre)
      const invites = await m.service.createInvites(
        [{ email: "p1@example.com" }, { email: "p2@example.com" }, { email: "p3@example.com" }],
        { messageAggregator: recorder },
      )
      const messages = onlyEmit(m.bus)
      assert.equal(messages.length, 5)
      assert.equal(messages[0], pre)
      assertMessages(messages.slice(1), expectedMessages(invites.map((i) => i.id)))
      assert.deepEqual(recorder.held, [])
      assert.ok(recorder.log.includes("save"))
      assert.equal(recorder.log.at(-1), "clearMessages")
      assert.equal(recorder.log.filter((c) => c === "clearMessages").length, 1)
    })
  })

  test("preventReleaseEvents: messages saved but neither emitted nor cleared", async () => {
    await withOptions({}, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const pre = preMessage("pre.existing", "p1")
      aggregator.save(pre)
      const invites = await m.service.createInvites([{ email: "h1@example.com" }, { email: "h2@example.com" }], {
        messageAggregator: aggregator,
        preventReleaseEvents: true,
      })
      assert.equal(m.bus.calls.length, 0)
      assert.ok(!aggregator.calls.includes("clearMessages"))
      assert.equal(aggregator.count(), 4)
      const held = aggregator.getMessages().default
      assert.equal(held[0], pre)
      assertMessages(held.slice(1), expectedMessages(invites.map((i) => i.id)))
    })
  })

  test("preventReleaseEvents with a plain recorder: saved, not emitted, not cleared", async () => {
    await withOptions({}, async (m) => {
      const recorder = plainRecorder()
      const invite = await m.service.createInvites({ email: "hp@example.com" }, {
        messageAggregator: recorder,
        preventReleaseEvents: true,
      })
      assert.equal(m.bus.calls.length, 0)
      assert.ok(!recorder.log.includes("clearMessages"))
      assertMessages(recorder.held, expectedMessages([invite.id]))
    })
  })

  test("preventReleaseEvents: false behaves like absent", async () => {
    await withOptions({}, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const invite = await m.service.createInvites({ email: "pf@example.com" }, {
        messageAggregator: aggregator,
        preventReleaseEvents: false,
      })
      assertMessages(onlyEmit(m.bus), expectedMessages([invite.id]))
      assert.equal(aggregator.count(), 0)
    })
  })
})

describe("the caller's sharedContext", () => {
  test("a frozen context is accepted and not mutated (deep compare before/after)", async () => {
    await withOptions({}, async (m) => {
      const context = Object.freeze({
        eventGroupId: "grp-frozen",
        requestId: "req-1",
        transactionId: "tx-1",
        isolationLevel: "read committed",
      })
      const before = structuredClone(context)
      const invite = await m.service.createInvites({ email: "frozen@example.com" }, context)
      assert.deepEqual(context, before)
      assert.deepEqual(Object.keys(context), Object.keys(before))
      assertMessages(onlyEmit(m.bus), expectedMessages([invite.id], "grp-frozen"))
    })
  })

  test("a frozen context with an aggregator: same keys and values after the call", async () => {
    await withOptions({}, async (m) => {
      const aggregator = new MedusaLikeAggregator()
      const context = Object.freeze({ eventGroupId: "g", messageAggregator: aggregator })
      const keysBefore = Object.keys(context)
      const [invite] = await m.service.createInvites([{ email: "fa@example.com" }], context)
      assert.deepEqual(Object.keys(context), keysBefore)
      assert.equal(context.messageAggregator, aggregator)
      assert.equal(context.eventGroupId, "g")
      assertMessages(onlyEmit(m.bus), expectedMessages([invite.id], "g"))
    })
  })

  test("an unfrozen context gains no keys (no manager, no aggregator, no __type)", async () => {
    await withOptions({}, async (m) => {
      const context: Record<string, unknown> = { eventGroupId: "gx", requestId: "r" }
      const before = structuredClone(context)
      await m.service.createInvites({ email: "unfrozen@example.com" }, context)
      await m.service.createInvites([{ email: "unfrozen2@example.com" }], context)
      assert.deepEqual(context, before)
      assert.deepEqual(Object.keys(context), ["eventGroupId", "requestId"])
    })
  })

  test("a frozen context is not mutated on failure either", async () => {
    await withOptions({}, async (m) => {
      await m.service.createInvites({ email: "dupctx@example.com" })
      const context = Object.freeze({ eventGroupId: "gf" })
      const error = await rejection(m.service.createInvites({ email: "dupctx@example.com" }, context))
      assert.equal(error.type, "invalid_data")
      assert.deepEqual(context, { eventGroupId: "gf" })
    })
  })
})
