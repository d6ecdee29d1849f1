'use strict'

// Messages cut into very many tiny fragments. Reassembly must cost time linear
// in the number of fragments (no re-copying of what was already received), and
// the bytes held for an unfinished message must be bounded by maxLength (the
// limit applies to the sum of the fragments), with no per-fragment overhead:
// ws issue #2331 was a peer holding memory with many tiny fragments on many
// connections.

const { performance } = require('perf_hooks')
const { openRaw } = require('./helpers/server')
const { startIsolated, pollUntil, MiB, KiB } = require('./helpers/isolated')
const { connectRaw } = require('./helpers/raw_peer')
const F = require('./helpers/frames')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const TOO_LARGE = 'WebSocket frame length too large'
const LETTERS = 'abcdefghijklmnopqrstuvwxyz'

/**
 * `count` masked frames of one byte each: a text frame, then continuations;
 * the last has FIN unless `finish` is false. Byte i is LETTERS[i % 26].
 */
function oneByteFragments (count, { finish = true, opcode = F.OPCODES.text } = {}) {
  const key = F.DEFAULT_MASK_KEY
  const out = Buffer.alloc(count * 7)
  for (let i = 0; i < count; i++) {
    const at = i * 7
    const fin = finish && i === count - 1 ? 0x80 : 0
    out[at] = fin | (i === 0 ? opcode : F.OPCODES.continuation)
    out[at + 1] = 0x81
    key.copy(out, at + 2)
    out[at + 6] = LETTERS.charCodeAt(i % 26) ^ key[0]
  }
  return out
}

function expectedText (count) {
  return LETTERS.repeat(Math.ceil(count / 26)).slice(0, count)
}

describe('100,000 one-byte fragments of one message', () => {
  it('are delivered once, as one message with the right content', async () => {
    const { peer, connection } = await openRaw()
    peer.write(oneByteFragments(100000))
    peer.write(F.text('after'))
    const message = await connection.messages.next()
    expect(message.length).toBe(100000)
    expect(message === expectedText(100000)).toBe(true)
    expect(await connection.messages.next()).toBe('after')
    expect(connection.messages.all.length).toBe(2)
    expect(connection.sequence().filter((s) => s.startsWith('error'))).toEqual([])
  })

  it('take time roughly linear in the number of fragments (25k vs 100k)', async () => {
    const { peer, connection } = await openRaw()
    peer.socket.setNoDelay(true) // no Nagle delay on the last segment of a burst
    const sizes = [25000, 100000]
    const buffers = new Map(sizes.map((n) => [n, oneByteFragments(n)]))
    const best = new Map(sizes.map((n) => [n, Infinity]))
    let slowest = 0
    // CPU time rather than wall time: other processes on the machine do not
    // count. Interleaved and repeated, keeping the best run of each, so that a
    // GC pause does not decide the ratio either.
    for (let round = 0; round < 5; round++) {
      for (const n of sizes) {
        const started = performance.now()
        const cpu = process.cpuUsage()
        peer.write(buffers.get(n))
        const message = await connection.messages.next()
        const used = process.cpuUsage(cpu)
        best.set(n, Math.min(best.get(n), used.user + used.system))
        slowest = Math.max(slowest, performance.now() - started)
        expect(message.length).toBe(n)
      }
    }
    const ratio = best.get(100000) / Math.max(best.get(25000), 1)
    // Linear gives about 4, quadratic 16.
    expect(ratio).toBeLessThan(10)
    expect(slowest).toBeLessThan(3000)
  })

  it('binary: the same, with every byte in place', async () => {
    const { peer, connection } = await openRaw()
    peer.write(oneByteFragments(100000, { opcode: F.OPCODES.binary }))
    const message = await connection.messages.next()
    expect(Buffer.isBuffer(message)).toBe(true)
    expect(message.toString('latin1') === expectedText(100000)).toBe(true)
  })
})

// ws issue #2331: 131,072+ tiny fragments per connection on 50 connections.
describe('131,072 one-byte fragments on each of 50 connections', () => {
  const CONNECTIONS = 50
  const FRAGMENTS = 131072

  // Every connection ends up holding its unfinished message at the same time.
  // The fragments go to one connection after the other, each batch answered
  // (a ping after it, ponged once all of it was processed) before the next:
  // the process then never has tens of MiB of socket reads in flight, which
  // would measure Node's read buffers instead of what the library holds.
  async function attack (options, { finishWith } = {}) {
    const child = await startIsolated()
    const port = await child.listen({ options })
    const peers = []
    const connections = []
    for (let i = 0; i < CONNECTIONS; i++) {
      const peer = await connectRaw(port)
      peer.socket.on('error', () => {})
      peers.push(peer)
      connections.push(await child.nextConnection())
    }
    await Promise.all(connections.map((c) => c.waitOpen()))
    const before = await child.resetPeak({ gcEvery: 10 })
    const fragments = oneByteFragments(FRAGMENTS, { finish: false })
    for (const peer of peers) {
      peer.write(Buffer.concat([fragments, F.ping('done')]))
      await finishWith(peer)
    }
    return { child, peers, connections, before }
  }

  const pong = (peer) => peer.readFrame((f) => f.opcode === F.OPCODES.pong)

  it('with the default maxLength: the fragments are held once (about 128 KiB each), then delivered', async () => {
    const { child, peers, connections, before } = await attack({}, { finishWith: pong })
    const held = await child.memory()
    // 50 x 128 KiB = 6.25 MiB is legitimately held; per-fragment bookkeeping
    // (6.5 million fragments) would be hundreds of MiB.
    expect(held.peak - before.rss).toBeLessThan(6.25 * MiB + 24 * MiB)
    expect(held.rss - before.rss).toBeLessThan(6.25 * MiB + 24 * MiB)

    for (const peer of peers) peer.write(F.continuation('!'))
    const messages = await Promise.all(connections.map((c) => c.messages.next()))
    for (const message of messages) {
      expect(message.length).toBe(FRAGMENTS + 1)
      expect(message.data).toBeUndefined() // too long to forward whole: check its start
      expect(message.sample).toBe(expectedText(16))
    }
    expect(connections.every((c) => c.sequence().join() === `open,message:${FRAGMENTS + 1}`)).toBe(true)
  })

  it('with maxLength 64 KiB: every connection closes with 1009 once the sum passes it', async () => {
    const closes = []
    const { child, connections, before } = await attack({ maxLength: 64 * KiB }, {
      finishWith: async (peer) => { closes.push(await peer.readClose()) }
    })
    expect(closes.map((c) => [c.code, c.reason])).toEqual(closes.map(() => [1009, TOO_LARGE]))
    const events = await Promise.all(connections.map((c) => c.waitClosed()))
    expect(events.map((e) => e.code)).toEqual(events.map(() => 1009))
    const after = await child.memory()
    expect(after.peak - before.rss).toBeLessThan(16 * MiB)
    await pollUntil(() => child.state(), (s) => s.connections.every((c) => c.readyState === 3 && c.closes === 1),
      { label: 'every isolated connection to be closed once' })
  })
})
