'use strict'

// permessage-deflate on the wire, observed and driven byte by byte:
//   - a raw peer against our server (it writes hand-compressed frames and
//     parses what the server sends), and
//   - a raw server against our client.
// Protocol errors are also run against faye-websocket + permessage-deflate
// 0.1.7; event order, close codes and close frames must match.

const Native = require('..')
const Faye = require('faye-websocket')
const pmd = require('permessage-deflate')
const F = require('./helpers/frames')
const S = require('./helpers/scenarios')
const D = require('./helpers/deflate')
const { startServer } = require('./helpers/server')
const { connectRaw } = require('./helpers/raw_peer')
const { closeAll } = require('./helpers/cleanup')
const { quietPeriod } = require('./helpers/wait')

afterEach(closeAll)

const OFFER = 'permessage-deflate; client_max_window_bits'
const RSV1 = 'One or more reserved bits are on: reserved1 = 1, reserved2 = 0, reserved3 = 0'
const TOO_LARGE = 'WebSocket frame length too large'
const BAD_UTF8 = 'Could not decode a text frame as UTF-8'
// Compares large buffers by length and digest (Jest's deep equality is slow on megabytes).
const expectBytes = (actual, expected) => expect(D.describeData(actual)).toEqual(D.describeData(expected))
const hex = (text) => Buffer.from(text.replace(/ /g, ''), 'hex')

// Our server with `extension`, and a raw peer that offered `offer`.
async function openRaw ({ offer = OFFER, extension = pmd, options = {} } = {}) {
  const server = await startServer({ WebSocket: Native, options: { extensions: [extension], ...options } })
  const peer = await connectRaw(server.port, { headers: { 'Sec-WebSocket-Extensions': offer } })
  const connection = await server.nextConnection()
  await connection.waitOpen()
  return { server, peer, connection, response: peer.response.headers['sec-websocket-extensions'] }
}

const isData = (frame) => frame.opcode === F.OPCODES.text || frame.opcode === F.OPCODES.binary

// 1000 random bytes repeated 32 times: every match is 1000 bytes back, which
// a 9-bit (512-byte) window cannot reach.
const FAR_REPEATS = Buffer.concat(Array(32).fill(D.randomBytes(1000, 99)))

// ------------------------------------------------------------- server -> peer

describe('frames our server sends', () => {
  it('compresses "Hello" to the bytes of RFC 7692 section 7.2.3, RSV1 set, and shares the window for the second', async () => {
    const { peer, connection, response } = await openRaw()
    expect(response).toBe('permessage-deflate')
    connection.ws.send('Hello')
    connection.ws.send('Hello')
    const first = await peer.readFrame(isData)
    const second = await peer.readFrame(isData)
    for (const frame of [first, second]) {
      expect(frame).toMatchObject({ fin: true, rsv1: true, rsv2: false, rsv3: false, opcode: F.OPCODES.text, masked: false })
    }
    expect(first.payload).toEqual(hex('f2 48 cd c9 c9 07 00'))
    expect(second.payload).toEqual(hex('f2 00 11 00 00'))
  })

  it('sends each message, however large, as one frame with RSV1 (so RSV1 is on the first frame only)', async () => {
    const { peer, connection } = await openRaw()
    const big = D.compressibleBytes(D.MiB)
    connection.ws.send(big)
    connection.ws.send(D.randomBytes(200 * D.KiB))
    const a = await peer.readFrame(isData)
    const b = await peer.readFrame(isData)
    expect(a).toMatchObject({ fin: true, rsv1: true, opcode: F.OPCODES.binary })
    expect(b).toMatchObject({ fin: true, rsv1: true, opcode: F.OPCODES.binary })
    expect(a.payload.length).toBeLessThan(big.length / 20)
    expectBytes(D.inflateStream([a.payload, b.payload]), Buffer.concat([big, D.randomBytes(200 * D.KiB)]))
    expect(peer.frames.filter((f) => f.opcode === F.OPCODES.continuation)).toEqual([])
  })

  it('compresses an empty message to the single byte 00 (RFC 7692 section 7.2.3.6)', async () => {
    const { peer, connection } = await openRaw({ offer: 'permessage-deflate; server_no_context_takeover' })
    connection.ws.send('')
    const frame = await peer.readFrame(isData)
    expect(frame).toMatchObject({ rsv1: true, opcode: F.OPCODES.text })
    expect(frame.payload).toEqual(hex('00'))
  })

  it('never sets RSV1 on ping, pong or close frames', async () => {
    const { peer, connection } = await openRaw()
    const pinged = new Promise((resolve) => connection.ws.ping('server ping', resolve))
    connection.ws.send('between')
    peer.write(F.ping('peer ping'))
    const ping = await peer.readFrame((f) => f.opcode === F.OPCODES.ping)
    const pong = await peer.readFrame((f) => f.opcode === F.OPCODES.pong)
    peer.write(F.pong('server ping'))
    await pinged
    connection.ws.close(4000, 'compressed? no')
    const close = await peer.readClose()

    expect(ping).toMatchObject({ rsv1: false, rsv2: false, rsv3: false })
    expect(ping.payload.toString()).toBe('server ping')
    expect(pong).toMatchObject({ rsv1: false })
    expect(pong.payload.toString()).toBe('peer ping')
    expect(close).toMatchObject({ rsv1: false, code: 4000, reason: 'compressed? no' })
    const data = peer.frames.filter(isData)
    expect(data).toHaveLength(1)
    expect(data[0].rsv1).toBe(true)
    expect(D.inflateMessage(data[0].payload).toString()).toBe('between')
  })

  it.each([
    ['server_max_window_bits=9', 'permessage-deflate; server_max_window_bits=9', true],
    ['server_max_window_bits=8 (compressed with 9, as zlib and permessage-deflate do)', 'permessage-deflate; server_max_window_bits=8', true],
    ['server_max_window_bits=10', 'permessage-deflate; server_max_window_bits=10', true],
    ['no window limit', 'permessage-deflate', false]
  ])('applies the negotiated window: %s', async (_label, offer, limited) => {
    const { peer, connection } = await openRaw({ offer })
    connection.ws.send(FAR_REPEATS)
    const frame = await peer.readFrame(isData)
    expectBytes(D.inflateMessage(frame.payload), FAR_REPEATS)
    if (limited) expect(frame.payload.length).toBeGreaterThan(FAR_REPEATS.length / 2)
    else expect(frame.payload.length).toBeLessThan(2 * 1000 + 500)
  })

  it('applies maxWindowBits from its own options', async () => {
    const { peer, connection, response } = await openRaw({ offer: 'permessage-deflate', extension: Native.deflate.configure({ maxWindowBits: 9 }) })
    // permessage-deflate does not announce a window the client did not ask about
    expect(response).toBe('permessage-deflate')
    connection.ws.send(FAR_REPEATS)
    const frame = await peer.readFrame(isData)
    expect(frame.payload.length).toBeGreaterThan(FAR_REPEATS.length / 2)
    expectBytes(D.inflateMessage(frame.payload, { windowBits: 9 }), FAR_REPEATS)
  })
})

// ----------------------------------------------------------- context takeover

describe('context takeover, observed on the wire', () => {
  const message = D.compressibleText(4 * D.KiB) + D.randomText(512, 5)

  async function twice (setup) {
    const { peer, connection, response } = await openRaw(setup)
    connection.ws.send(message)
    connection.ws.send(message)
    const first = await peer.readFrame(isData)
    const second = await peer.readFrame(isData)
    return { first: first.payload, second: second.payload, response }
  }

  it('with takeover, the second copy of a message is much shorter and refers to the first', async () => {
    const { first, second, response } = await twice()
    expect(response).toBe('permessage-deflate')
    expect(second.length).toBeLessThan(first.length / 4)
    expect(() => D.inflateMessage(second)).toThrow() // needs the first message's window
    expect(D.inflateStream([first, second]).toString()).toBe(message + message)
  })

  it('with server_no_context_takeover offered, both copies compress to identical bytes', async () => {
    const { first, second, response } = await twice({ offer: 'permessage-deflate; server_no_context_takeover' })
    expect(response).toBe('permessage-deflate; server_no_context_takeover')
    expect(second).toEqual(first)
    expect(D.inflateMessage(second).toString()).toBe(message)
  })

  it('with noContextTakeover configured, both copies compress to identical bytes', async () => {
    const { first, second, response } = await twice({ offer: 'permessage-deflate', extension: Native.deflate.configure({ noContextTakeover: true }) })
    expect(response).toBe('permessage-deflate; server_no_context_takeover')
    expect(second).toEqual(first)
  })

  it('inflates a peer that keeps its context between messages', async () => {
    const { peer, connection } = await openRaw()
    const deflater = new D.StreamDeflater()
    const first = await deflater.compress('Hello')
    const second = await deflater.compress('Hello')
    deflater.close()
    expect(second).toEqual(hex('f2 00 11 00 00'))
    peer.write(Buffer.concat([F.text(first, { rsv1: true }), F.text(second, { rsv1: true })]))
    expect(await connection.messages.next()).toBe('Hello')
    expect(await connection.messages.next()).toBe('Hello')
  })

  it('inflates a peer without context takeover (client_no_context_takeover)', async () => {
    const { peer, connection, response } = await openRaw({ offer: 'permessage-deflate; client_no_context_takeover' })
    expect(response).toBe('permessage-deflate; client_no_context_takeover')
    const payload = D.deflateMessage(message)
    peer.write(Buffer.concat([F.text(payload, { rsv1: true }), F.text(payload, { rsv1: true })]))
    expect(await connection.messages.next()).toBe(message)
    expect(await connection.messages.next()).toBe(message)
  })
})

// ------------------------------------------------------------- peer -> server

describe('compressed frames our server receives', () => {
  it('inflates text and binary messages in single frames', async () => {
    const { peer, connection } = await openRaw()
    const binary = D.randomBytes(3000, 3)
    peer.write(Buffer.concat([
      F.text(D.deflateMessage('héllo €😀'), { rsv1: true }),
      F.binary(D.deflateMessage(binary), { rsv1: true })
    ]))
    expect(await connection.messages.next()).toBe('héllo €😀')
    expect(await connection.messages.next()).toEqual(binary)
  })

  it('inflates a message split across fragments, RSV1 on the first only, with a ping in between', async () => {
    const { peer, connection } = await openRaw()
    const text = D.randomText(64 * D.KiB, 11)
    const payload = D.deflateMessage(text)
    const cuts = [0, 1, Math.floor(payload.length / 3), payload.length - 2, payload.length]
    const frames = []
    for (let i = 0; i + 1 < cuts.length; i++) {
      const part = payload.subarray(cuts[i], cuts[i + 1])
      const fin = i + 2 === cuts.length
      frames.push(i === 0 ? F.text(part, { rsv1: true, fin }) : F.continuation(part, { fin }))
      if (i === 1) frames.push(F.ping('mid-message'))
    }
    await peer.writeEach(frames)
    expect(await connection.messages.next()).toBe(text)
    const pong = await peer.readFrame((f) => f.opcode === F.OPCODES.pong)
    expect(pong).toMatchObject({ rsv1: false })
    expect(pong.payload.toString()).toBe('mid-message')
  })

  it('inflates a fragmented compressed message fed one byte per write', async () => {
    const { peer, connection } = await openRaw()
    peer.socket.setNoDelay(true)
    const payload = D.deflateMessage('byte by byte: €😀')
    const bytes = Buffer.concat([F.text(payload.subarray(0, 4), { rsv1: true, fin: false }), F.continuation(payload.subarray(4))])
    await peer.writeEach([...bytes].map((b) => Buffer.from([b])))
    expect(await connection.messages.next()).toBe('byte by byte: €😀')
  })

  it('accepts uncompressed messages (RSV1 clear) on a deflate connection', async () => {
    const { peer, connection } = await openRaw()
    peer.write(Buffer.concat([F.text('plain'), F.text(D.deflateMessage('packed'), { rsv1: true }), F.binary([1, 2, 3])]))
    expect(await connection.messages.next()).toBe('plain')
    expect(await connection.messages.next()).toBe('packed')
    expect(await connection.messages.next()).toEqual(Buffer.from([1, 2, 3]))
  })

  it('inflates the other examples of RFC 7692 section 7.2.3 (stored block, BFINAL, empty)', async () => {
    for (const [payload, expected] of [
      ['00 05 00 fa ff 48 65 6c 6c 6f 00', 'Hello'],
      ['f3 48 cd c9 c9 07 00 00', 'Hello'],
      ['00', ''],
      ['', '']
    ]) {
      const { peer, connection } = await openRaw({ offer: 'permessage-deflate; client_no_context_takeover' })
      peer.write(F.text(hex(payload), { rsv1: true }))
      expect(await connection.messages.next()).toBe(expected)
    }
  })

  it('the default maxLength (2^26 - 1, as faye) limits the inflated size', async () => {
    const { peer, connection } = await openRaw()
    const bomb = D.deflateMessage(Buffer.alloc(2 ** 26), { level: 9 })
    expect(bomb.length).toBeLessThan(128 * D.KiB)
    peer.write(F.binary(bomb, { rsv1: true }))
    const close = await peer.readClose()
    expect([close.code, close.reason]).toEqual([1009, TOO_LARGE])
    await connection.waitClosed()
    expect(connection.sequence()).toEqual(['open', `error:${TOO_LARGE}`, 'end', `close:1009:${TOO_LARGE}`])
  })

  it('a compressed message of exactly maxLength bytes once inflated is delivered', async () => {
    const { peer, connection } = await openRaw({ options: { maxLength: 4096 } })
    const data = Buffer.alloc(4096, 0x61)
    peer.write(F.binary(D.deflateMessage(data), { rsv1: true }))
    expect(await connection.messages.next()).toEqual(data)
  })
})

describe('protocol errors with compression: identical to faye + permessage-deflate', () => {
  const corruptPayload = hex('ff ff ff ff')
  const valid = D.deflateMessage(D.compressibleText(8 * D.KiB))
  const badUtf8 = D.deflateMessage(Buffer.concat([Buffer.from('valid start '), Buffer.from([0xc3, 0x28]), Buffer.from(' rest')]))

  // [label, frames, options, expected close code, expected reason (null: checked by prefix)]
  const cases = [
    ['RSV1 on a continuation frame', [F.text(valid.subarray(0, 10), { rsv1: true, fin: false }), F.continuation(valid.subarray(10), { rsv1: true })],
      {}, 1002, RSV1],
    ['RSV1 on an uncompressed message\'s continuation frame', [F.text('a', { fin: false }), F.continuation('b', { rsv1: true })], {}, 1002, RSV1],
    ['RSV1 on a ping', [F.ping('p', { rsv1: true })], {}, 1002, RSV1],
    ['RSV1 on a pong', [F.pong('p', { rsv1: true })], {}, 1002, RSV1],
    ['RSV1 on a close frame', [F.close(1000, '', { rsv1: true })], {}, 1002, RSV1],
    ['RSV2 on a compressed frame', [F.text(valid, { rsv1: true, rsv2: true })], {}, 1002,
      'One or more reserved bits are on: reserved1 = 1, reserved2 = 1, reserved3 = 0'],
    ['a small compressed frame inflating past maxLength (1 MiB of zeros, maxLength 4096)',
      [F.binary(D.deflateMessage(Buffer.alloc(D.MiB)), { rsv1: true })], { maxLength: 4096 }, 1009, TOO_LARGE],
    ['a compressed message inflating to maxLength + 1', [F.binary(D.deflateMessage(Buffer.alloc(4097, 0x61)), { rsv1: true })],
      { maxLength: 4096 }, 1009, TOO_LARGE],
    ['fragments inflating past maxLength', [F.text(D.deflateMessage('x'.repeat(8000)).subarray(0, 5), { rsv1: true, fin: false }),
      F.continuation(D.deflateMessage('x'.repeat(8000)).subarray(5))], { maxLength: 4096 }, 1009, TOO_LARGE],
    ['compressed text that inflates to invalid UTF-8', [F.text(badUtf8, { rsv1: true })], {}, 1007, BAD_UTF8],
    ['compressed text ending inside a UTF-8 sequence', [F.text(D.deflateMessage(Buffer.from([0x61, 0xe2, 0x82])), { rsv1: true })],
      {}, 1007, BAD_UTF8],
    ['corrupt deflate data (invalid block type)', [F.text(corruptPayload, { rsv1: true })], {}, 1010, null],
    ['corrupt deflate data in a binary message', [F.binary(hex('ff ee dd cc bb aa'), { rsv1: true })], {}, 1010, null],
    // the first fragment ends on a block boundary (the sync flush), the next block's type is invalid
    ['corrupt data in the last fragment', [F.text(valid, { rsv1: true, fin: false }), F.continuation(hex('ff ff ff ff'))],
      {}, 1010, null]
  ]

  async function run (WebSocket, frames, options) {
    return S.runScenario(WebSocket, {
      options: { extensions: [pmd], ...options },
      handshake: { headers: { 'Sec-WebSocket-Extensions': OFFER } },
      frames
    })
  }

  it.each(cases)('%s', async (_label, frames, options, code, reason) => {
    const reference = await run(Faye, frames, options)
    const result = await run(Native, frames, options)
    const closeEvent = result.server[result.server.length - 1]
    if (reason === null) {
      // the message names zlib's complaint, prefixed like permessage-deflate's
      expect(closeEvent).toMatch(new RegExp(`^close:${code}:permessage-deflate: \\S`))
      reason = closeEvent.slice(`close:${code}:`.length)
    }
    expect(result).toEqual({
      status: 'HTTP/1.1 101 Switching Protocols',
      body: null,
      server: ['open', `error:${reason}`, 'end', `close:${code}:${reason}`],
      wire: [`close:${code}:${reason}`]
    })
    expect(result.server.map((e) => e.replace(/permessage-deflate: .*/, 'permessage-deflate: …')))
      .toEqual(reference.server.map((e) => e.replace(/permessage-deflate: .*/, 'permessage-deflate: …')))
    expect(result.wire.map((e) => e.replace(/permessage-deflate: .*/, 'permessage-deflate: …')))
      .toEqual(reference.wire.map((e) => e.replace(/permessage-deflate: .*/, 'permessage-deflate: …')))
  })

  it('reports corrupt data with zlib\'s own message, as permessage-deflate does', async () => {
    const frames = [F.text(corruptPayload, { rsv1: true })]
    const reference = await run(Faye, frames, {})
    const result = await run(Native, frames, {})
    expect(result).toEqual(reference)
    expect(result.wire).toEqual(['close:1010:permessage-deflate: invalid block type'])
  })

  it('a truncated compressed message delivers what inflated so far, as permessage-deflate does', async () => {
    // 20 bytes of a dynamic-Huffman block: inflate is still reading the block header
    const frames = [F.text(valid.subarray(0, 20), { rsv1: true, fin: false }), F.continuation(hex('ff ff ff')), F.close(1000)]
    const reference = await run(Faye, frames, {})
    const result = await run(Native, frames, {})
    expect(result).toEqual(reference)
    expect(result.server).toEqual(['open', 'message:', 'end', 'close:1000:'])
  })

  it('a message delivered before corrupt data is still delivered, in order', async () => {
    const frames = [F.text(D.deflateMessage('first'), { rsv1: true }), F.text(corruptPayload, { rsv1: true })]
    const reference = await run(Faye, frames, {})
    const result = await run(Native, frames, {})
    expect(result.server[0]).toBe('open')
    expect(result.server[1]).toBe('message:first')
    expect(result.server[2]).toMatch(/^error:permessage-deflate: /)
    expect(result.server.length).toBe(reference.server.length)
  })
})

// ------------------------------------------------------------ client <-> raw

describe('our client on the wire', () => {
  async function openClient (response, extension = Native.deflate) {
    const server = await D.startRawDeflateServer({ extensions: response })
    const client = D.openClient(Native.Client, server.url, [], { extensions: [extension] })
    const connection = await server.nextConnection()
    await client.waitOpen()
    return { server, client, connection }
  }

  it('masks its compressed frames, RSV1 on data frames only', async () => {
    const { client, connection } = await openClient('permessage-deflate')
    client.ws.send('Hello')
    client.ws.ping('cping')
    client.ws.send(Buffer.from([1, 2, 3]))
    client.ws.close(1000, 'done')
    const frames = []
    for (let i = 0; i < 4; i++) frames.push(await connection.nextFrame())
    expect(frames.map((f) => [f.opcode, f.rsv1, f.masked, f.fin])).toEqual([
      [F.OPCODES.text, true, true, true],
      [F.OPCODES.ping, false, true, true],
      [F.OPCODES.binary, true, true, true],
      [F.OPCODES.close, false, true, true]
    ])
    expect(frames[0].payload).toEqual(hex('f2 48 cd c9 c9 07 00'))
    expect(D.inflateStream([frames[0].payload, frames[2].payload])).toEqual(Buffer.concat([Buffer.from('Hello'), Buffer.from([1, 2, 3])]))
    expect(frames[3]).toMatchObject({ code: 1000, reason: 'done' })
    await client.waitClosed()
  })

  it.each([
    ['takeover (the default)', 'permessage-deflate', Native.deflate, false],
    ['client_no_context_takeover in the response', 'permessage-deflate; client_no_context_takeover', Native.deflate, true],
    ['noContextTakeover configured', 'permessage-deflate', Native.deflate.configure({ noContextTakeover: true }), true]
  ])('context takeover: %s', async (_label, response, extension, identical) => {
    const { client, connection } = await openClient(response, extension)
    const message = D.compressibleText(4 * D.KiB) + D.randomText(512, 6)
    client.ws.send(message)
    client.ws.send(message)
    const first = (await connection.nextFrame()).payload
    const second = (await connection.nextFrame()).payload
    if (identical) {
      expect(second).toEqual(first)
      expect(D.inflateMessage(second).toString()).toBe(message)
    } else {
      expect(second.length).toBeLessThan(first.length / 4)
      expect(D.inflateStream([first, second]).toString()).toBe(message + message)
    }
  })

  it.each([
    ['client_max_window_bits=9 in the response', 'permessage-deflate; client_max_window_bits=9', Native.deflate, true],
    ['maxWindowBits 9 configured', 'permessage-deflate', Native.deflate.configure({ maxWindowBits: 9 }), true],
    ['no limit', 'permessage-deflate', Native.deflate, false]
  ])('window: %s', async (_label, response, extension, limited) => {
    const { client, connection } = await openClient(response, extension)
    client.ws.send(FAR_REPEATS)
    const frame = await connection.nextFrame()
    expect(frame.rsv1).toBe(true)
    expectBytes(D.inflateMessage(frame.payload), FAR_REPEATS)
    if (limited) expect(frame.payload.length).toBeGreaterThan(FAR_REPEATS.length / 2)
    else expect(frame.payload.length).toBeLessThan(2500)
  })

  it('inflates compressed frames from the server, fragmented, with and without server context takeover', async () => {
    const { client, connection } = await openClient('permessage-deflate')
    const deflater = new D.StreamDeflater()
    const text = D.randomText(20000, 21)
    const first = await deflater.compress(text)
    const second = await deflater.compress(text)
    deflater.close()
    connection.write(Buffer.concat([
      F.text(first.subarray(0, 7), { rsv1: true, fin: false, mask: false }),
      F.continuation(first.subarray(7), { mask: false }),
      F.text(second, { rsv1: true, mask: false }),
      F.binary([9, 8, 7], { mask: false })
    ]))
    expect(await client.messages.next()).toBe(text)
    expect(await client.messages.next()).toBe(text)
    expect(await client.messages.next()).toEqual(Buffer.from([9, 8, 7]))
  })

  // Server frames that break the extension: the client's events and close frame
  // must be those of faye's client with permessage-deflate.
  describe.each([
    ['corrupt deflate data', [F.text(hex('ff ff ff ff'), { rsv1: true, mask: false })], 1010],
    ['RSV1 on a continuation frame', [F.text(D.deflateMessage('abc').subarray(0, 2), { rsv1: true, fin: false, mask: false }),
      F.continuation(D.deflateMessage('abc').subarray(2), { rsv1: true, mask: false })], 1002],
    ['RSV1 on a ping', [F.ping('x', { rsv1: true, mask: false })], 1002],
    ['compressed invalid UTF-8', [F.text(D.deflateMessage(Buffer.from([0xff, 0xfe])), { rsv1: true, mask: false })], 1007],
    ['a small compressed frame inflating past maxLength', [F.binary(D.deflateMessage(Buffer.alloc(D.MiB)), { rsv1: true, mask: false })],
      1009, { maxLength: 4096 }]
  ])('%s', (_label, frames, code, options = {}) => {
    it(`fails the connection with ${code}, as faye's client does`, async () => {
      const outcomes = []
      for (const Client of [Faye.Client, Native.Client]) {
        const server = await D.startRawDeflateServer({ extensions: 'permessage-deflate' })
        const client = D.openClient(Client, server.url, [], { extensions: [pmd], ...options })
        const connection = await server.nextConnection()
        await client.waitOpen()
        connection.write(Buffer.concat(frames))
        await client.waitClosed()
        const close = await connection.nextFrame()
        outcomes.push({ events: client.sequence(), close: [close.code, close.reason, close.rsv1, close.masked] })
      }
      const [reference, ours] = outcomes
      expect(ours).toEqual(reference)
      expect(ours.close[0]).toBe(code)
      expect(ours.events).toEqual(['open', `error:${ours.close[1]}`, 'end', `close:${code}:${ours.close[1]}`])
    })
  })
})

// ------------------------------------------------- ordering, timing, isolation

describe('ordering and isolation', () => {
  it('after a deflate failure the server sends nothing more', async () => {
    const { peer, connection } = await openRaw()
    peer.write(F.text(hex('ff ff ff ff'), { rsv1: true }))
    await connection.waitClosed()
    expect(connection.ws.send('too late')).toBe(false)
    await quietPeriod(50)
    expect(peer.frames.map((f) => f.opcode)).toEqual([F.OPCODES.close])
  })

  it('inflates a compressed frame that arrived in the same TCP write as the upgrade request', async () => {
    const server = await startServer({ WebSocket: Native, options: { extensions: [pmd] } })
    const request = Buffer.concat([
      Buffer.from(D.upgradeRequest(`127.0.0.1:${server.port}`, [OFFER]), 'latin1'),
      F.text(D.deflateMessage('early bird'), { rsv1: true })
    ])
    const peer = await connectRaw(server.port, { request })
    expect(peer.response.headers['sec-websocket-extensions']).toBe('permessage-deflate')
    const connection = await server.nextConnection()
    expect(await connection.messages.next()).toBe('early bird')
  })

  it('compresses what the client sent before the handshake with the negotiated parameters', async () => {
    const server = await D.startRawDeflateServer({ extensions: 'permessage-deflate; client_no_context_takeover' })
    const client = D.openClient(Native.Client, server.url, [], { extensions: [Native.deflate] })
    client.ws.send('Hello')
    client.ws.send('Hello')
    const connection = await server.nextConnection()
    const first = await connection.nextFrame()
    const second = await connection.nextFrame()
    expect(first).toMatchObject({ rsv1: true, opcode: F.OPCODES.text, masked: true })
    expect(first.payload).toEqual(hex('f2 48 cd c9 c9 07 00'))
    expect(second.payload).toEqual(first.payload)
  })

  it('compresses what the server sent right after construction, before the handshake was answered', async () => {
    const server = await startServer({
      WebSocket: Native,
      options: { extensions: [pmd] },
      setup: (ws) => { ws.send('Hello'); ws.send('Hello') }
    })
    const peer = await connectRaw(server.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; server_no_context_takeover' } })
    expect(peer.response.headers['sec-websocket-extensions']).toBe('permessage-deflate; server_no_context_takeover')
    const first = await peer.readFrame(isData)
    const second = await peer.readFrame(isData)
    expect([first.rsv1, second.rsv1]).toEqual([true, true])
    expect(first.payload).toEqual(hex('f2 48 cd c9 c9 07 00'))
    expect(second.payload).toEqual(first.payload)
  })

  it('keeps 200 pipelined messages in order both ways, with context takeover', async () => {
    const { peer, connection } = await openRaw()
    const deflater = new D.StreamDeflater()
    const texts = Array.from({ length: 200 }, (_, i) => `message ${i} ` + 'x'.repeat(i))
    const frames = []
    for (const text of texts) frames.push(F.text(await deflater.compress(text), { rsv1: true }))
    deflater.close()
    peer.write(Buffer.concat(frames))
    for (const text of texts) expect(await connection.messages.next()).toBe(text)

    for (const text of texts) connection.ws.send(text)
    const payloads = []
    for (let i = 0; i < texts.length; i++) payloads.push((await peer.readFrame(isData)).payload)
    expect(D.inflateStream(payloads).toString()).toBe(texts.join(''))
  })

  // Codecs without context takeover share a per-thread pool of zlib states.
  it('interleaved fragmented messages on two connections without takeover do not mix', async () => {
    const server = await startServer({ WebSocket: Native, options: { extensions: [pmd] } })
    const offer = 'permessage-deflate; client_no_context_takeover'
    const a = await connectRaw(server.port, { headers: { 'Sec-WebSocket-Extensions': offer } })
    const connA = await server.nextConnection()
    const b = await connectRaw(server.port, { headers: { 'Sec-WebSocket-Extensions': offer } })
    const connB = await server.nextConnection()
    const textA = D.randomText(30000, 31)
    const textB = D.randomText(30000, 32)
    const packedA = D.deflateMessage(textA)
    const packedB = D.deflateMessage(textB)
    const half = Math.floor(packedA.length / 2)
    await a.writeEach([F.text(packedA.subarray(0, half), { rsv1: true, fin: false })])
    await b.writeEach([F.text(packedB.subarray(0, 100), { rsv1: true, fin: false })])
    await a.writeEach([F.ping('sync')])
    await a.readFrame((f) => f.opcode === F.OPCODES.pong)
    b.write(F.continuation(packedB.subarray(100)))
    expect(await connB.messages.next()).toBe(textB)
    b.write(F.text(packedA, { rsv1: true }))
    expect(await connB.messages.next()).toBe(textA)
    a.write(F.continuation(packedA.subarray(half)))
    expect(await connA.messages.next()).toBe(textA)
  })

  it('a failed inflate on one connection leaves the others intact', async () => {
    const server = await startServer({ WebSocket: Native, options: { extensions: [Native.deflate.configure({ requestNoContextTakeover: true })] } })
    const a = await connectRaw(server.port, { headers: { 'Sec-WebSocket-Extensions': OFFER } })
    const connA = await server.nextConnection()
    const b = await connectRaw(server.port, { headers: { 'Sec-WebSocket-Extensions': OFFER } })
    const connB = await server.nextConnection()
    const valid = D.deflateMessage(D.compressibleText(5000))
    a.write(Buffer.concat([F.text(valid, { rsv1: true, fin: false }), F.continuation(hex('ff ff ff ff'))]))
    expect((await a.readClose()).code).toBe(1010)
    for (let i = 0; i < 3; i++) {
      b.write(F.text(valid, { rsv1: true }))
      expect(await connB.messages.next()).toBe(D.compressibleText(5000))
    }
    expect(connA.sequence()[1]).toMatch(/^error:permessage-deflate: /)
  })

  it('connections without takeover keep their own window and level', async () => {
    const plain = await startServer({ WebSocket: Native, options: { extensions: [Native.deflate.configure({ noContextTakeover: true })] } })
    const stored = await startServer({ WebSocket: Native, options: { extensions: [Native.deflate.configure({ noContextTakeover: true, level: 0 })] } })
    const peers = {
      wide: await connectRaw(plain.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } }),
      narrow: await connectRaw(plain.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=9' } }),
      stored: await connectRaw(stored.port, { headers: { 'Sec-WebSocket-Extensions': 'permessage-deflate' } })
    }
    const conns = { wide: await plain.nextConnection(), narrow: await plain.nextConnection(), stored: await stored.nextConnection() }
    const sizes = { wide: [], narrow: [], stored: [] }
    for (let round = 0; round < 3; round++) {
      for (const name of ['wide', 'narrow', 'stored']) {
        conns[name].ws.send(FAR_REPEATS)
        const frame = await peers[name].readFrame(isData)
        expectBytes(D.inflateMessage(frame.payload), FAR_REPEATS)
        sizes[name].push(frame.payload.length)
      }
    }
    for (const name of ['wide', 'narrow', 'stored']) expect(new Set(sizes[name]).size).toBe(1)
    expect(sizes.wide[0]).toBeLessThan(2500)
    expect(sizes.narrow[0]).toBeGreaterThan(FAR_REPEATS.length / 2)
    expect(sizes.narrow[0]).toBeLessThan(FAR_REPEATS.length)
    expect(sizes.stored[0]).toBeGreaterThan(FAR_REPEATS.length)
  })
})
