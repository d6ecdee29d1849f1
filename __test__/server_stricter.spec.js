'use strict'

// Cases where this package is intentionally STRICTER than faye-websocket
// 0.11.4, following RFC 6455. Each test asserts faye's measured behaviour
// under WS_IMPL=faye and the stricter behaviour otherwise, so the reference
// run documents exactly what differs.

const crypto = require('crypto')
const { isFaye } = require('./helpers/impl')
const { startServer, openRaw } = require('./helpers/server')
const { connectRaw } = require('./helpers/raw_peer')
const F = require('./helpers/frames')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const BAD_UTF8 = 'Could not decode a text frame as UTF-8'
const INVALID_KEY = 'Invalid Sec-WebSocket-Key header: it must be 16 bytes, base64-encoded'

describe('(a) unmasked client frame', () => {
  it(`closes with ${isFaye ? '1003 (faye)' : '1002 (RFC 6455 5.1)'} and the masking message`, async () => {
    const { peer, connection } = await openRaw()
    peer.write(F.text('naked', { mask: false }))
    const code = isFaye ? 1003 : 1002
    const reason = 'Received unmasked frame but masking is required'
    const frame = await peer.readClose()
    expect([frame.code, frame.reason]).toEqual([code, reason])
    await connection.waitClosed()
    await peer.waitClosed()
    expect(connection.sequence()).toEqual(['open', `error:${reason}`, 'end', `close:${code}:${reason}`])
  })
})

describe('(b) close frame with an empty payload', () => {
  it(`answers 03 e8 and reports ${isFaye ? '1000 (faye)' : '1005 (RFC 6455 7.1.5)'}`, async () => {
    const { peer, connection } = await openRaw()
    peer.write(F.close(null))
    const frame = await peer.readClose()
    expect(frame.payload.toString('hex')).toBe('03e8')
    const event = await connection.waitClosed()
    const code = isFaye ? 1000 : 1005
    expect([event.code, event.reason]).toEqual([code, ''])
    expect(connection.sequence()).toEqual(['open', 'end', `close:${code}:`])
    await peer.waitClosed()
  })
})

describe('(c) Sec-WebSocket-Version: 8', () => {
  it(`refuses with 400${isFaye ? '' : ' advertising Sec-WebSocket-Version: 13 (RFC 6455 4.4)'}`, async () => {
    const server = await startServer()
    const peer = await connectRaw(server.port, { version: '8' })
    const message = 'Unsupported WebSocket version: 8'
    const { response } = peer
    expect(response.statusLine).toBe('HTTP/1.1 400 Bad Request')
    expect(response.headers['content-type']).toBe('text/plain')
    expect(response.headers['content-length']).toBe(String(message.length))
    expect(response.headers['sec-websocket-version']).toBe(isFaye ? undefined : '13')
    await peer.waitClosed()
    expect(response.text).toBe(message)
    const connection = await server.nextConnection()
    await connection.waitClosed()
    expect(connection.sequence()).toEqual([`error:${message}`, 'end', `close:1002:${message}`])
  })
})

describe('(d) Sec-WebSocket-Key that is not 16 base64-encoded bytes', () => {
  const keys = [
    ['abc', 'abc'],
    ['base64 of 15 bytes', crypto.randomBytes(15).toString('base64')],
    ['base64 of 17 bytes', crypto.randomBytes(17).toString('base64')],
    ['24 characters that are not base64', '!!!!!!!!!!!!!!!!!!!!!!=='],
    ['an empty value', '']
  ]

  it.each(keys)(`${isFaye ? 'is accepted by faye' : 'is refused with 400'}: %s`, async (_label, key) => {
    const server = await startServer()
    const peer = await connectRaw(server.port, { key, headers: { 'Sec-WebSocket-Key': key } })
    const connection = await server.nextConnection()
    if (isFaye) {
      expect(peer.response.statusCode).toBe(101)
      await connection.waitOpen()
      return
    }
    const { response } = peer
    expect(response.statusLine).toBe('HTTP/1.1 400 Bad Request')
    expect(response.headers['content-type']).toBe('text/plain')
    expect(response.headers['content-length']).toBe(String(Buffer.byteLength(INVALID_KEY)))
    await peer.waitClosed()
    expect(response.text).toBe(INVALID_KEY)
    await connection.waitClosed()
    expect(connection.sequence()).toEqual([`error:${INVALID_KEY}`, 'end', `close:1002:${INVALID_KEY}`])
  })
})

describe('(e) control frames never exceed 125 bytes', () => {
  const tooLong = [
    ['124 ASCII bytes', 'r'.repeat(124)],
    ['42 euro signs (126 UTF-8 bytes, only 42 characters)', '€'.repeat(42)]
  ]

  it.each(tooLong)(`close(1000, reason of %s) ${isFaye ? 'is sent oversized by faye' : 'throws and sends nothing'}`, async (_label, reason) => {
    const { peer, connection } = await openRaw()
    const { ws } = connection
    if (isFaye) {
      ws.close(1000, reason)
      const frame = await peer.readClose()
      expect(frame.length).toBeGreaterThan(125) // faye's RFC violation, documented here
      return
    }
    expect(() => ws.close(1000, reason)).toThrow(/\b123 (UTF-8 )?bytes/)
    expect(ws.readyState).toBe(1)
    ws.send('still open')
    const next = await peer.readFrame()
    expect([next.opcode, next.payload.toString()]).toEqual([F.OPCODES.text, 'still open'])
    expect(peer.frames.some((f) => f.opcode === F.OPCODES.close)).toBe(false)
  })

  it(`ping(payload > 125 bytes) ${isFaye ? 'is sent oversized by faye' : 'is refused and nothing oversized is sent'}`, async () => {
    const { peer, connection } = await openRaw()
    const { ws } = connection
    if (isFaye) {
      expect(ws.ping('p'.repeat(126))).toBe(true)
      const frame = await peer.readFrame()
      expect([frame.opcode, frame.length]).toEqual([F.OPCODES.ping, 126])
      return
    }
    let result
    try {
      result = ws.ping('p'.repeat(126))
    } catch (error) {
      result = error
    }
    expect(result === false || result instanceof Error).toBe(true)
    expect(ws.readyState).toBe(1)
    expect(ws.ping('ok')).toBe(true)
    const frame = await peer.readFrame()
    expect([frame.opcode, frame.payload.toString()]).toEqual([F.OPCODES.ping, 'ok'])
    expect(peer.frames.filter((f) => f.opcode >= 8 && f.length > 125)).toEqual([])
  })

  it('ping with exactly 125 bytes is sent', async () => {
    const { peer, connection } = await openRaw()
    expect(connection.ws.ping('p'.repeat(125))).toBe(true)
    const frame = await peer.readFrame()
    expect([frame.opcode, frame.length]).toEqual([F.OPCODES.ping, 125])
  })
})

describe('(f) invalid UTF-8 fails fast, in the fragment that contains it', () => {
  // The probe ping after the bad fragment tells the two behaviours apart
  // without timing: faye answers it (it only validates at message end),
  // this package has already failed the connection and discards it.
  const cases = [
    ['an invalid byte in the first fragment', [F.text([0x61, 0xff], { fin: false })]],
    ['an invalid continuation byte in the first fragment', [F.text([0xe2, 0x28, 0xa1], { fin: false })]],
    ['a sequence completed wrongly in the second fragment', [F.text([0xe2], { fin: false }), F.continuation([0x28], { fin: false })]]
  ]

  it.each(cases)(`${isFaye ? 'faye waits for the final fragment' : 'closes 1007 before the final fragment'}: %s`, async (_label, fragments) => {
    const { peer, connection } = await openRaw()
    peer.write(Buffer.concat([...fragments, F.ping('probe')]))
    if (isFaye) {
      const pong = await peer.readFrame()
      expect([pong.opcode, pong.payload.toString()]).toEqual([F.OPCODES.pong, 'probe'])
      peer.write(F.continuation('end'))
    }
    const frame = await peer.readClose()
    expect([frame.code, frame.reason]).toEqual([1007, BAD_UTF8])
    await connection.waitClosed()
    await peer.waitClosed()
    expect(peer.frames.map((f) => f.opcode)).toEqual(isFaye ? [F.OPCODES.pong, F.OPCODES.close] : [F.OPCODES.close])
    expect(connection.sequence()).toEqual(['open', `error:${BAD_UTF8}`, 'end', `close:1007:${BAD_UTF8}`])
  })

  it('does not fail a fragment that ends inside a valid multi-byte sequence', async () => {
    const { peer, connection } = await openRaw()
    peer.write(Buffer.concat([F.text([0xe2, 0x82], { fin: false }), F.ping('probe')]))
    const pong = await peer.readFrame()
    expect([pong.opcode, pong.payload.toString()]).toEqual([F.OPCODES.pong, 'probe'])
    peer.write(F.continuation([0xac]))
    expect(await connection.messages.next()).toBe('€')
  })
})
