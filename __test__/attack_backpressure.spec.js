'use strict'

// Peers that stop reading. What we owe such a peer (pongs, messages) waits in
// our process, so it must be bounded: a socket whose writes are not draining
// has to push back, on the peer (stop reading its pings) and on the
// application (send() and write() return false past the high-water mark, as a
// Node duplex stream does, 'drain' announces the resumption, and a pipe into
// the socket stops pulling from its source).
//
// The socket under test lives in its own process (helpers/isolated.js), where
// its memory is measured; the stalled peer is a raw socket here, paused.

const fs = require('fs')
const { startIsolated, pollUntil, MiB, KiB } = require('./helpers/isolated')
const { connectRaw } = require('./helpers/raw_peer')
const { startRawServer } = require('./helpers/raw_server')
const { scanPeer } = require('./helpers/frame_scanner')
const F = require('./helpers/frames')
const { quietPeriod } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

// The most the two kernels can hold between a writer and a paused reader on
// loopback: the writer's send buffer and the reader's receive buffer at their
// largest, plus a margin. What an application writes beyond this stays in
// user space, where it must be accounted for and bounded.
function kernelBufferBound () {
  const max = (file) => Number(fs.readFileSync(file, 'utf8').trim().split(/\s+/)[2])
  return max('/proc/sys/net/ipv4/tcp_wmem') + max('/proc/sys/net/ipv4/tcp_rmem') + MiB
}

async function stalledPeer (listenArgs = {}) {
  const child = await startIsolated()
  const port = await child.listen(listenArgs)
  const peer = await connectRaw(port)
  peer.socket.on('error', () => {})
  const scanner = scanPeer(peer) // paused: the peer reads nothing from now on
  const connection = await child.nextConnection()
  await connection.waitOpen()
  return { child, peer, scanner, connection }
}

// Writes `chunk` up to `count` times, honouring backpressure. Once a write is
// not drained within `stallMs` the reader has stopped taking bytes, which is
// the point of the attack: stop there. (The delay only ends the flood; what
// the tests assert is measured afterwards.)
async function flood (socket, chunk, count, stallMs = 1000) {
  for (let i = 0; i < count; i++) {
    if (socket.write(chunk)) continue
    const drained = await new Promise((resolve) => {
      const timer = setTimeout(() => { socket.removeListener('drain', onDrain); resolve(false) }, stallMs)
      const onDrain = () => { clearTimeout(timer); resolve(true) }
      socket.once('drain', onDrain)
    })
    if (!drained) return { chunks: i + 1, stalled: true }
  }
  return { chunks: count, stalled: false }
}

describe('a ping flood from a peer that never reads', () => {
  it('does not pile pongs up in memory, and the connection works once the peer reads again', async () => {
    const { child, peer, scanner, connection } = await stalledPeer({ echo: true })
    const before = await child.resetPeak({ gcEvery: 10 })
    const start = (await child.call('connection', { id: connection.id })).bytesRead

    // 8000 pings with 125-byte payloads per MiB; 16 MiB of them ask for about
    // 16 MiB of pongs.
    const ping = F.ping(Buffer.alloc(125, 0x70))
    const chunk = Buffer.concat(new Array(8000).fill(ping))
    const { chunks, stalled } = await flood(peer.socket, chunk, 16)
    if (!stalled) {
      // Everything was taken: wait until it was all processed before measuring.
      await pollUntil(() => child.call('connection', { id: connection.id }), (c) => c.bytesRead >= start + chunks * chunk.length,
        { label: 'the isolated server to read the whole flood', ms: 20000 })
    } else {
      // Negative check: nothing more is taken in while the peer does not read.
      await quietPeriod(300)
    }
    const during = await child.memory()
    const queued = (await child.call('connection', { id: connection.id })).bufferedAmount

    // The peer reads again: the backlog drains and a message is echoed after it.
    peer.socket.resume()
    peer.write(F.text('after the flood'))
    const echo = await scanner.waitFrame((f) => f.opcode === F.OPCODES.text, 'the echo after the flood', 30000)
    expect(echo.payload.toString()).toBe('after the flood')
    expect(scanner.count(F.OPCODES.pong)).toBeGreaterThan(0)
    expect(scanner.kept.filter((f) => f.opcode === F.OPCODES.close)).toEqual([])
    expect((await connection.messages.next()).data).toBe('after the flood')
    expect(connection.sequence()).toEqual(['open', 'message:15'])

    // Measured while the peer was not reading: 16 MiB of pongs were asked for.
    // Reading has to stop, or pongs be coalesced (RFC 6455 5.5.3), long before.
    expect(queued).toBeLessThan(4 * MiB)
    // Processing 16 MiB of pings leaves the allocator holding up to about 30 MiB
    // of freed memory; 16 MiB of pongs queued as separate writes costs about
    // 100 MiB. The bounds sit between the two.
    expect(during.rss - before.rss).toBeLessThan(48 * MiB)
    expect(during.peak - before.rss).toBeLessThan(64 * MiB)
  }, 60000)
})

describe('the application keeps sending to a peer that never reads', () => {
  const SIZE = 60000 // a 4-byte header: every frame is SIZE + 4 bytes
  const FRAME = SIZE + 4

  it("send() and write() return false past the high-water mark, bufferedAmount counts what is unsent, 'drain' follows the peer", async () => {
    const { child, peer, scanner, connection } = await stalledPeer()

    // Sends until send() returns false (at most 2000 x 60 KB = 120 MB).
    const first = await child.call('sendMany', { id: connection.id, size: SIZE, count: 2000 })
    expect(first.firstFalse).toBeGreaterThanOrEqual(0)
    // Only what the kernels can hold went out before send() said stop.
    expect(first.sent * FRAME).toBeLessThan(kernelBufferBound() + 64 * KiB)
    const refused = first.trace[first.trace.length - 1]
    expect(refused.result).toBe(false)
    expect(refused.after).toBeGreaterThanOrEqual(16 * KiB) // Node's default writableHighWaterMark

    // write() is send(): false as well while the buffer is full.
    expect(await child.invoke(connection.id, 'write', 'w')).toBe(false)

    // Each further send adds exactly its frame to bufferedAmount.
    const more = await child.call('sendMany', { id: connection.id, size: SIZE, count: 3, untilFalse: false })
    expect(more.trace.map((t) => [t.result, t.after - t.before])).toEqual([[false, FRAME], [false, FRAME], [false, FRAME]])

    const written = (first.sent + 3) * FRAME + 3
    const unsent = (await child.call('connection', { id: connection.id })).bufferedAmount
    expect(unsent).toBeLessThanOrEqual(written)
    expect(written - unsent).toBeLessThan(kernelBufferBound()) // the rest is in the kernels
    expect(unsent).toBeGreaterThanOrEqual(4 * FRAME)

    // The peer reads again: everything arrives, 'drain' fires, nothing is left.
    const drained = connection.nextDrain(20000)
    peer.socket.resume()
    await drained
    await scanner.waitCount(F.OPCODES.binary, first.sent + 3, 'every binary message', 20000)
    await scanner.waitFrame((f) => f.opcode === F.OPCODES.text, 'the message sent with write()')
    expect(scanner.payloadBytes[F.OPCODES.binary]).toBe((first.sent + 3) * SIZE)
    expect((await child.call('connection', { id: connection.id })).bufferedAmount).toBe(0)
    expect(await child.invoke(connection.id, 'send', 'again')).toBe(true)
  }, 60000)

  it('readable.pipe(ws) stops reading its source while the peer does not read, and resumes when it does', async () => {
    const { child, peer, scanner, connection } = await stalledPeer()
    const before = await child.resetPeak({ gcEvery: 10 })
    const LIMIT = 128 * MiB
    await child.call('pipe', { id: connection.id, chunkSize: 16 * KiB, limit: LIMIT })

    // The pipe pauses once the socket is full: production stops growing.
    let last = -1
    const stalled = await pollUntil(() => child.call('producer', { id: connection.id }), (p) => {
      const still = p.produced === last || p.ended
      last = p.produced
      return still
    }, { every: 200, ms: 20000, label: 'the piped source to stop being read' })
    expect(stalled.ended).toBe(false)
    expect(stalled.produced).toBeLessThan(kernelBufferBound() + MiB)
    // Negative check: and it stays stopped.
    await quietPeriod(300)
    expect((await child.call('producer', { id: connection.id })).produced).toBe(stalled.produced)
    const held = await child.memory()
    expect(held.peak - before.rss).toBeLessThan(16 * MiB)

    // The peer reads again: the pipe resumes.
    peer.socket.resume()
    const resumed = await pollUntil(() => child.call('producer', { id: connection.id }),
      (p) => p.produced >= stalled.produced + 8 * MiB, { label: 'the piped source to be read again', ms: 20000 })
    expect(resumed.produced).toBeGreaterThan(stalled.produced)
    await scanner.waitCount(F.OPCODES.binary, stalled.produced / (16 * KiB), 'the messages piped before the stall', 20000)
    expect(connection.sequence()).toEqual(['open'])
  }, 60000)
})

// Messages sent before the handshake completes wait in our process too: a
// server that never answers is a peer that never reads.
describe('a server that never answers the handshake', () => {
  it('a pipe into the client stops at the high-water mark, bufferedAmount counts the queued bytes, and it resumes after the 101', async () => {
    const child = await startIsolated()
    const server = await startRawServer()
    const client = await child.client({ url: `${server.url}/` })
    const raw = await server.nextConnection()
    const before = await child.resetPeak({ gcEvery: 10 })
    await child.call('pipe', { id: client.id, chunkSize: 16 * KiB, limit: 32 * MiB })

    let last = -1
    const stalled = await pollUntil(() => child.call('producer', { id: client.id }), (p) => {
      const still = p.produced === last || p.ended
      last = p.produced
      return still
    }, { every: 200, ms: 20000, label: 'the piped source to stop being read' })
    const memory = await child.memory()
    // Nothing reached the kernel before the 101: all of it was ours to count.
    expect(stalled.ended).toBe(false)
    expect(stalled.produced).toBeLessThan(4 * MiB)
    expect(stalled.bufferedAmount).toBeGreaterThanOrEqual(stalled.produced - 64 * KiB)
    expect(memory.peak - before.rss).toBeLessThan(16 * MiB)

    // The server answers: what was queued goes out, 'drain' fires, the pipe moves on.
    const drained = client.nextDrain(10000)
    raw.accept101()
    await client.waitOpen()
    await drained
    const resumed = await pollUntil(() => child.call('producer', { id: client.id }),
      (p) => p.produced > stalled.produced + MiB, { label: 'the piped source to be read again' })
    expect(resumed.produced).toBeGreaterThan(stalled.produced)
  }, 60000)

  it('send() returns false once the queue passes the high-water mark', async () => {
    const child = await startIsolated()
    const server = await startRawServer()
    const client = await child.client({ url: `${server.url}/` })
    await server.nextConnection()
    const result = await child.call('sendMany', { id: client.id, size: 60000, count: 200 })
    expect(result.firstFalse).toBeGreaterThanOrEqual(0)
    expect(result.sent * 60000).toBeLessThan(MiB)
    expect(result.bufferedAmount).toBeGreaterThanOrEqual(result.sent * 60000)
  })
})
