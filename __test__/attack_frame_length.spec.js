'use strict'

// A frame header is 14 bytes at most, but may declare up to 2^63 - 1 bytes of
// payload. Nothing may be reserved or buffered on the strength of a declared
// length: a length over maxLength fails the connection with 1009 as soon as the
// header is in, and a length under it costs only the bytes that really arrive.
//
// The socket under test runs in its own process (helpers/isolated.js) so that
// its peak RSS (VmHWM) can be measured; the attacker is a raw peer here.

const { startIsolated, pollUntil, MiB } = require('./helpers/isolated')
const { connectRaw } = require('./helpers/raw_peer')
const { startRawServer } = require('./helpers/raw_server')
const F = require('./helpers/frames')
const { quietPeriod } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const TOO_LARGE = 'WebSocket frame length too large'
const DEFAULT_MAX_LENGTH = 2 ** 26 - 1
// Generous against allocator and GC noise, far below any declared length here.
const GROWTH_BOUND = 16 * MiB

const header = (length, opts = {}) => F.frame({ opcode: 'binary', lengthBits: 64, length: BigInt(length), ...opts })

async function isolatedServer (options) {
  const child = await startIsolated()
  const port = await child.listen({ options })
  const peer = await connectRaw(port)
  peer.socket.on('error', () => {}) // writes after the server hung up may fail
  const connection = await child.nextConnection()
  await connection.waitOpen()
  return { child, peer, connection }
}

// Writes `total` bytes in `chunk`-sized writes, stopping early once the
// connection is gone (the server hung up, as it should).
async function trickle (socket, total, chunk = 64 * 1024) {
  const block = Buffer.alloc(chunk, 0x5a)
  let written = 0
  while (written < total && !socket.destroyed && socket.writable) {
    const ok = await new Promise((resolve) => socket.write(block, (error) => resolve(!error)))
    if (!ok) break
    written += chunk
  }
  return written
}

describe('a header declaring more than maxLength: 1009 at once, nothing buffered', () => {
  const cases = [
    { name: '2^63 - 1 bytes, default maxLength', length: 2n ** 63n - 1n, options: {} },
    { name: '2^63 - 1 bytes, maxLength 1024', length: 2n ** 63n - 1n, options: { maxLength: 1024 } },
    { name: '64 MiB (one byte over the default maxLength), then trickled payload', length: 2 ** 26, options: {} },
    { name: '64 MiB with maxLength 1024, then trickled payload', length: 2 ** 26, options: { maxLength: 1024 } }
  ]

  it.each(cases)('$name', async ({ length, options }) => {
    const { child, peer, connection } = await isolatedServer(options)
    const before = await child.resetPeak()

    // Only the header: the verdict must not wait for payload.
    peer.write(header(length))
    const close = await peer.readClose()
    expect([close.code, close.reason]).toEqual([1009, TOO_LARGE])
    const event = await connection.waitClosed()
    expect([event.code, event.reason]).toEqual([1009, TOO_LARGE])
    expect(connection.sequence()).toEqual(['open', `error:${TOO_LARGE}`, `close:1009:${TOO_LARGE}`])

    // Payload arriving after the verdict is dropped, not stored.
    await trickle(peer.socket, 4 * MiB)
    await peer.waitClosed()
    const after = await child.memory()
    expect(after.peak - before.rss).toBeLessThan(GROWTH_BOUND)
    expect(after.rss - before.rss).toBeLessThan(GROWTH_BOUND)
  })

  it('a 2^63 - 1 byte continuation of a fragmented message: 1009 at once', async () => {
    const { peer, connection } = await isolatedServer({})
    peer.write(Buffer.concat([F.text('start', { fin: false }), header(2n ** 63n - 1n, { opcode: 'continuation' })]))
    const close = await peer.readClose()
    expect([close.code, close.reason]).toEqual([1009, TOO_LARGE])
    expect((await connection.waitClosed()).code).toBe(1009)
  })

  it('fragments whose lengths only add up past maxLength: 1009 at the header that crosses it', async () => {
    const { peer, connection } = await isolatedServer({ maxLength: 1024 })
    // 1000 bytes arrive; the next header declares 25 more than the limit allows.
    peer.write(Buffer.concat([F.binary(Buffer.alloc(1000), { fin: false }), header(25, { opcode: 'continuation' })]))
    const close = await peer.readClose()
    expect([close.code, close.reason]).toEqual([1009, TOO_LARGE])
    expect((await connection.waitClosed()).code).toBe(1009)
  })
})

describe('a header declaring exactly maxLength (2^26 - 1) with a trickled payload', () => {
  it('reserves nothing up front: memory follows the bytes received, the connection stays open', async () => {
    const { child, peer, connection } = await isolatedServer({})
    const before = await child.resetPeak()
    const start = (await child.state()).connections[0].bytesRead

    peer.write(header(DEFAULT_MAX_LENGTH))
    const sent = await trickle(peer.socket, 2 * MiB)
    // Processed once the process has read all of it.
    await pollUntil(() => child.call('connection', { id: connection.id }), (c) => c.bytesRead >= start + 14 + sent,
      { label: 'the isolated server to read the trickled payload' })

    const after = await child.memory()
    // A 64 MiB reservation would show here; 2 MiB of payload may legitimately be held.
    expect(after.peak - before.rss).toBeLessThan(GROWTH_BOUND)
    const state = await child.call('connection', { id: connection.id })
    expect(state.readyState).toBe(1)
    expect(connection.sequence()).toEqual(['open'])
  })
})

describe('the client side: a server frame declaring 2^63 - 1 bytes', () => {
  it('fails with 1009 at once and holds nothing', async () => {
    const child = await startIsolated()
    const server = await startRawServer()
    const client = await child.client({ url: `${server.url}/` })
    const raw = await server.nextConnection()
    raw.accept101()
    await client.waitOpen()
    const before = await child.resetPeak()

    raw.socket.on('error', () => {})
    raw.respond(header(2n ** 63n - 1n, { mask: false }))
    const close = await raw.readClose()
    expect([close.code, close.reason, close.masked]).toEqual([1009, TOO_LARGE, true])
    const event = await client.waitClosed()
    expect([event.code, event.reason]).toEqual([1009, TOO_LARGE])

    await trickle(raw.socket, 2 * MiB)
    await raw.waitClosed()
    const after = await child.memory()
    expect(after.peak - before.rss).toBeLessThan(GROWTH_BOUND)
    // Nothing more after the close, however long the server keeps talking.
    await quietPeriod(100)
    expect(client.sequence()).toEqual(['open', `error:${TOO_LARGE}`, `close:1009:${TOO_LARGE}`])
  })
})
