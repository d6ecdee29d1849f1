'use strict'

// Deflate bombs. maxLength applies to the inflated message while it is being
// inflated (README, "What the codec guarantees"): a compressed message that
// would grow past it fails the connection with 1009, and memory never holds
// much more than maxLength, whatever the message would have inflated to.
//
// Deflate cannot do better than about 1032:1, so a 1 GiB bomb is about 1 MiB on
// the wire. It is built from one compressed MiB of zeros repeated: each copy
// starts from an empty window and ends on a sync flush, so the concatenation is
// one valid raw deflate stream.

const zlib = require('zlib')
const { startIsolated, MiB } = require('./helpers/isolated')
const { startServer } = require('./helpers/server')
const { connectRaw } = require('./helpers/raw_peer')
const D = require('./helpers/deflate')
const F = require('./helpers/frames')
const { WebSocket } = require('./helpers/impl')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const TOO_LARGE = 'WebSocket frame length too large'
const DEFAULT_MAX_LENGTH = 2 ** 26 - 1
const OFFER = { 'Sec-WebSocket-Extensions': 'permessage-deflate' }

let bombCache = null
/** A compressed message (trailer removed) that inflates to 1 GiB of zeros. */
function gigabyteBomb () {
  if (!bombCache) {
    const segment = zlib.deflateRawSync(Buffer.alloc(MiB), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH })
    bombCache = Buffer.concat(new Array(1024).fill(segment)).subarray(0, -4)
  }
  return bombCache
}

it('the bomb is what it claims: about a thousandth of the 1 GiB it inflates to', () => {
  const bomb = gigabyteBomb()
  expect(bomb.length).toBeLessThan(1.5 * MiB)
  // Inflating only the first 1/64 of it already gives 16 MiB of zeros.
  const head = zlib.inflateRawSync(bomb.subarray(0, bomb.length / 64), { finishFlush: zlib.constants.Z_SYNC_FLUSH })
  expect(head.length).toBeGreaterThanOrEqual(15 * MiB)
  expect(head.every((b) => b === 0)).toBe(true)
})

describe('a 1 GiB deflate bomb sent to the server', () => {
  const cases = [
    // Up to maxLength is inflated before the limit is reached; the slack is
    // allocator and GC noise, far below the 1 GiB the bomb is worth.
    { name: 'default maxLength (2^26 - 1)', options: {}, bound: DEFAULT_MAX_LENGTH + 32 * MiB },
    { name: 'maxLength 1 MiB', options: { maxLength: MiB }, bound: 16 * MiB }
  ]

  it.each(cases)('$name: 1009, peak memory near maxLength', async ({ options, bound }) => {
    const child = await startIsolated()
    const port = await child.listen({ options, deflate: true })
    const peer = await connectRaw(port, { headers: OFFER })
    peer.socket.on('error', () => {})
    expect(peer.response.headers['sec-websocket-extensions']).toBe('permessage-deflate')
    const connection = await child.nextConnection()
    await connection.waitOpen()
    const before = await child.resetPeak()

    peer.write(F.binary(gigabyteBomb(), { rsv1: true }))
    const close = await peer.readClose()
    expect([close.code, close.reason]).toEqual([1009, TOO_LARGE])
    const event = await connection.waitClosed()
    expect([event.code, event.reason]).toEqual([1009, TOO_LARGE])
    expect(connection.sequence()).toEqual(['open', `error:${TOO_LARGE}`, `close:1009:${TOO_LARGE}`])

    const after = await child.memory()
    expect(after.peak - before.rss).toBeLessThan(bound)
    expect(after.rss - before.rss).toBeLessThan(16 * MiB)
  })

  it('spread over 1024 fragments (maxLength 1 MiB): 1009, peak memory near maxLength', async () => {
    const child = await startIsolated()
    const port = await child.listen({ options: { maxLength: MiB }, deflate: true })
    const peer = await connectRaw(port, { headers: OFFER })
    peer.socket.on('error', () => {})
    const connection = await child.nextConnection()
    await connection.waitOpen()
    const before = await child.resetPeak()

    const bomb = gigabyteBomb()
    const size = Math.ceil(bomb.length / 1024)
    const frames = []
    for (let at = 0, i = 0; at < bomb.length; at += size, i++) {
      const last = at + size >= bomb.length
      const chunk = bomb.subarray(at, at + size)
      frames.push(i === 0 ? F.binary(chunk, { rsv1: true, fin: last }) : F.continuation(chunk, { fin: last }))
    }
    peer.write(Buffer.concat(frames))
    const close = await peer.readClose()
    expect([close.code, close.reason]).toEqual([1009, TOO_LARGE])
    expect((await connection.waitClosed()).code).toBe(1009)
    const after = await child.memory()
    expect(after.peak - before.rss).toBeLessThan(16 * MiB)
  })
})

describe('a 1 GiB deflate bomb sent to the client', () => {
  it.each([
    { name: 'default maxLength (2^26 - 1)', options: {}, bound: DEFAULT_MAX_LENGTH + 32 * MiB },
    { name: 'maxLength 1 MiB', options: { maxLength: MiB }, bound: 16 * MiB }
  ])('$name: 1009, peak memory near maxLength', async ({ options, bound }) => {
    const child = await startIsolated()
    const server = await D.startRawDeflateServer({ extensions: 'permessage-deflate' })
    const client = await child.client({ url: server.url, options, deflate: true })
    const raw = await server.nextConnection()
    raw.socket.on('error', () => {})
    await client.waitOpen()
    const before = await child.resetPeak()

    raw.write(F.binary(gigabyteBomb(), { rsv1: true, mask: false }))
    const event = await client.waitClosed()
    expect([event.code, event.reason]).toEqual([1009, TOO_LARGE])
    expect(client.sequence()).toEqual(['open', `error:${TOO_LARGE}`, `close:1009:${TOO_LARGE}`])
    const close = await raw.nextFrame()
    expect([close.opcode, close.code, close.masked]).toEqual([F.OPCODES.close, 1009, true])

    const after = await child.memory()
    expect(after.peak - before.rss).toBeLessThan(bound)
    expect(after.rss - before.rss).toBeLessThan(16 * MiB)
  })
})

// websocket-driver 0.7.4 delivered such messages whatever their inflated size.
describe('regression: a small compressed message inflating past maxLength', () => {
  async function deflateServer (maxLength) {
    const server = await startServer({ options: { maxLength, extensions: [WebSocket.deflate] } })
    const peer = await connectRaw(server.port, { headers: OFFER })
    const connection = await server.nextConnection()
    await connection.waitOpen()
    return { peer, connection }
  }

  it('one frame of 1001 inflated bytes against maxLength 1000: 1009', async () => {
    const { peer, connection } = await deflateServer(1000)
    const payload = D.deflateMessage(Buffer.alloc(1001, 0x61))
    expect(payload.length).toBeLessThan(100)
    peer.write(F.text(payload, { rsv1: true }))
    const close = await peer.readClose()
    expect([close.code, close.reason]).toEqual([1009, TOO_LARGE])
    await connection.waitClosed()
    expect(connection.sequence()).toEqual(['open', `error:${TOO_LARGE}`, 'end', `close:1009:${TOO_LARGE}`])
  })

  it('exactly maxLength inflated bytes are delivered, one more is 1009', async () => {
    const { peer, connection } = await deflateServer(1000)
    peer.write(F.text(D.deflateMessage('a'.repeat(1000)), { rsv1: true }))
    expect(await connection.messages.next()).toBe('a'.repeat(1000))
    peer.write(F.text(D.deflateMessage('a'.repeat(1001)), { rsv1: true }))
    expect((await peer.readClose()).code).toBe(1009)
  })

  it('compressed fragments, each small, whose inflated sum passes maxLength: 1009', async () => {
    const { peer, connection } = await deflateServer(1000)
    const payload = D.deflateMessage(Buffer.alloc(5000, 0x62))
    const third = Math.ceil(payload.length / 3)
    peer.write(Buffer.concat([
      F.binary(payload.subarray(0, third), { rsv1: true, fin: false }),
      F.continuation(payload.subarray(third, 2 * third), { fin: false }),
      F.continuation(payload.subarray(2 * third))
    ]))
    expect((await peer.readClose()).code).toBe(1009)
    expect((await connection.waitClosed()).code).toBe(1009)
    expect(connection.messages.all).toEqual([])
  })

  it('with context takeover, a second message that back-references the first is limited too', async () => {
    const { peer, connection } = await deflateServer(1000)
    const deflater = new D.StreamDeflater()
    try {
      const first = await deflater.compress(Buffer.alloc(900, 0x63))
      // Almost free to send: a reference to the window that inflates to 1800 bytes.
      const second = await deflater.compress(Buffer.alloc(1800, 0x63))
      expect(second.length).toBeLessThan(32)
      peer.write(F.binary(first, { rsv1: true }))
      expect((await connection.messages.next()).length).toBe(900)
      peer.write(F.binary(second, { rsv1: true }))
      expect((await peer.readClose()).code).toBe(1009)
    } finally {
      deflater.close()
    }
  })
})
