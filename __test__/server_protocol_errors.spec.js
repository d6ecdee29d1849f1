'use strict'

// Framing-level behaviour of the server socket, driven by a raw TCP peer that
// writes hand-made (masked) frames. Intentionally-stricter-than-faye cases
// (unmasked frames, empty close, fail-fast UTF-8) are in server_stricter.spec.js.

const { WebSocket, isFaye } = require('./helpers/impl')
const { openRaw } = require('./helpers/server')
const F = require('./helpers/frames')
const S = require('./helpers/scenarios')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

describe('protocol errors: close frame with the error, then error and close events', () => {
  it.each(S.protocolErrors.map((s) => [s.name, s]))('%s', async (_name, scenario) => {
    const result = await S.runScenario(WebSocket, scenario)
    expect(result).toEqual(scenario.expected)
  })
})

// Stricter than faye: these are protocol errors, reported with `error` and a reason.
describe('invalid close frames are answered with 1002', () => {
  it.each(S.invalidCloseFrames.map((s) => [s.name, s]))('%s', async (_name, scenario) => {
    const result = await S.runScenario(WebSocket, scenario)
    expect(result).toEqual(isFaye ? scenario.expected : scenario.expectedNative)
  })
})

describe('valid close frames are echoed', () => {
  it.each(S.closeEchoes.map((s) => [s.name, s]))('%s', async (_name, scenario) => {
    const result = await S.runScenario(WebSocket, scenario)
    expect(result).toEqual(scenario.expected)
  })
})

describe('conversations', () => {
  it.each(S.conversations.map((s) => [s.name, s]))('%s', async (_name, scenario) => {
    const result = await S.runScenario(WebSocket, scenario)
    expect(result).toEqual(scenario.expected)
  })
})

describe('well-formed input', () => {
  it('answers a ping with an unmasked pong carrying the same payload', async () => {
    const { peer, connection } = await openRaw()
    const payload = Buffer.from([0, 1, 2, 0xfe, 0xff])
    peer.write(F.ping(payload))
    const pong = await peer.readFrame()
    expect(pong).toMatchObject({ fin: true, opcode: F.OPCODES.pong, masked: false, rsv1: false })
    expect(pong.payload.equals(payload)).toBe(true)
    expect(connection.sequence()).toEqual(['open'])
  })

  it('ignores an unsolicited pong', async () => {
    const { peer, connection } = await openRaw()
    peer.write(Buffer.concat([F.pong('unasked'), F.text('after')]))
    expect(await connection.messages.next()).toBe('after')
    expect(connection.sequence()).toEqual(['open', 'message:after'])
  })

  it('decodes a frame fed one byte per TCP write', async () => {
    const { peer, connection } = await openRaw()
    peer.socket.setNoDelay(true)
    const bytes = F.text('split everywhere: €😀')
    await peer.writeEach([...bytes].map((b) => Buffer.from([b])))
    expect(await connection.messages.next()).toBe('split everywhere: €😀')
  })

  it('decodes many frames arriving in a single TCP write', async () => {
    const { peer, connection } = await openRaw()
    const frames = Array.from({ length: 50 }, (_, i) => F.text(`m${i}`))
    peer.write(Buffer.concat(frames))
    const got = []
    for (let i = 0; i < 50; i++) got.push(await connection.messages.next())
    expect(got).toEqual(Array.from({ length: 50 }, (_, i) => `m${i}`))
  })

  it('accepts 16-bit and 64-bit lengths, including non-minimal encodings', async () => {
    const { peer, connection } = await openRaw()
    const medium = Buffer.alloc(300, 0x6d)
    const large = Buffer.alloc(70000, 0x4c)
    peer.write(Buffer.concat([
      F.binary(medium),
      F.binary(large),
      F.text('short in 16 bits', { lengthBits: 16 }),
      F.text('short in 64 bits', { lengthBits: 64 })
    ]))
    const first = await connection.messages.next()
    const second = await connection.messages.next()
    expect(first.equals(medium)).toBe(true)
    expect(second.equals(large)).toBe(true)
    expect(await connection.messages.next()).toBe('short in 16 bits')
    expect(await connection.messages.next()).toBe('short in 64 bits')
  })

  it('reassembles a fragmented binary message across continuation frames', async () => {
    const { peer, connection } = await openRaw()
    peer.write(Buffer.concat([
      F.binary([1, 2], { fin: false }),
      F.continuation([], { fin: false }),
      F.continuation([3], { fin: false }),
      F.continuation([4, 5])
    ]))
    const data = await connection.messages.next()
    expect(Buffer.isBuffer(data)).toBe(true)
    expect([...data]).toEqual([1, 2, 3, 4, 5])
  })

  it('accepts a UTF-8 sequence split across fragment boundaries', async () => {
    const { peer, connection } = await openRaw()
    const euro = Buffer.from('€', 'utf8') // e2 82 ac
    const emoji = Buffer.from('😀', 'utf8') // f0 9f 98 80
    peer.write(Buffer.concat([
      F.text(euro.subarray(0, 1), { fin: false }),
      F.continuation(Buffer.concat([euro.subarray(1), emoji.subarray(0, 3)]), { fin: false }),
      F.continuation(emoji.subarray(3))
    ]))
    expect(await connection.messages.next()).toBe('€😀')
  })

  it('accepts a message of exactly maxLength bytes split into fragments', async () => {
    const { peer, connection } = await openRaw({ options: { maxLength: 16 } })
    peer.write(Buffer.concat([F.text('01234567', { fin: false }), F.continuation('89abcdef')]))
    expect(await connection.messages.next()).toBe('0123456789abcdef')
  })

  it('sends unmasked frames with minimal length encodings', async () => {
    const { peer, connection } = await openRaw()
    connection.ws.send('x'.repeat(125))
    connection.ws.send('y'.repeat(126))
    connection.ws.send(Buffer.alloc(65536, 1))
    const frames = [await peer.readFrame(), await peer.readFrame(), await peer.readFrame()]
    expect(frames.map((f) => [f.opcode, f.masked, f.lengthBits, f.length, f.fin])).toEqual([
      [1, false, 7, 125, true],
      [1, false, 16, 126, true],
      [2, false, 64, 65536, true]
    ])
  })
})
