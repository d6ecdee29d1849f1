'use strict'

// WebSocket.Client on the wire, against a hand-driven server: masking
// (RFC 6455 section 5.3), control frames, the closing handshake in both
// directions, and the server's protocol errors.

const { isFaye } = require('./helpers/impl')
const { startRawServer } = require('./helpers/raw_server')
const { openClient } = require('./helpers/client_socket')
const F = require('./helpers/frames')
const { withGuard, deferred } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

// An open client and the raw server connection it talks to.
async function openRaw (protocols, options) {
  const server = await startRawServer({ respond: (connection) => connection.accept101() })
  const client = openClient(`${server.url}/`, protocols, options)
  const connection = await server.nextConnection()
  await client.waitOpen()
  return { server, client, connection }
}

// Frames a server sends are unmasked.
const plain = { mask: false }

describe('masking (RFC 6455 section 5.3)', () => {
  it('masks every frame it sends, each with its own masking key', async () => {
    const { client, connection } = await openRaw()
    const texts = ['one', 'two', 'three', 'four', 'five']
    for (const text of texts) client.ws.send(text)
    client.ws.send(Buffer.from([0, 1, 2, 3, 4, 5, 6, 7]))
    client.ws.ping('are you there')
    client.ws.close(4000, 'done')

    const frames = []
    for (let i = 0; i < texts.length + 3; i++) frames.push(await connection.readFrame())
    expect(frames.map((f) => f.masked)).toEqual(frames.map(() => true))
    expect(frames.map((f) => [f.opcode, f.payload.toString('hex')])).toEqual([
      ...texts.map((t) => [1, Buffer.from(t).toString('hex')]),
      [2, '0001020304050607'],
      [9, Buffer.from('are you there').toString('hex')],
      [8, F.closePayload(4000, 'done').toString('hex')]
    ])
    const keys = new Set(frames.map((f) => f.maskKey.toString('hex')))
    expect(keys.size).toBe(frames.length)
  })

  it('masks a 1 MiB frame and uses the 64-bit length encoding', async () => {
    const { client, connection } = await openRaw()
    const big = Buffer.alloc(1024 * 1024, 0x5a)
    client.ws.send(big)
    const frame = await connection.readFrame()
    expect([frame.masked, frame.lengthBits, frame.length]).toEqual([true, 64, big.length])
    expect(frame.payload.equals(big)).toBe(true)
  })

  const masked = 'Received masked frame but masking is not allowed'
  if (isFaye) {
    it('a masked frame from the server: faye accepts it (RFC 6455 section 5.1 says fail with 1002)', async () => {
      const { client, connection } = await openRaw()
      connection.write(F.text('masked by the server'))
      expect(await client.messages.next()).toBe('masked by the server')
      expect(client.sequence()).toEqual(['open', 'message:masked by the server'])
    })
  } else {
    it(`a masked frame from the server fails the connection with 1002 '${masked}' (RFC 6455 section 5.1)`, async () => {
      const { client, connection } = await openRaw()
      connection.write(F.text('masked by the server'))
      await client.waitClosed()
      expect(client.sequence()).toEqual(['open', `error:${masked}`, 'end', `close:1002:${masked}`])
      const frame = await connection.readClose()
      expect([frame.masked, frame.code, frame.reason]).toEqual([true, 1002, masked])
      await connection.waitClosed()
    })
  }
})

describe('messages from the server', () => {
  it('delivers text, binary and fragmented messages in order', async () => {
    const { client, connection } = await openRaw()
    connection.write(Buffer.concat([
      F.text('héllo 日本 🎉', plain),
      F.binary([0, 255, 128], plain),
      F.text('frag', { ...plain, fin: false }),
      F.ping('between', plain),
      F.continuation('men', { ...plain, fin: false }),
      F.continuation('ted', plain),
      F.binary([], plain)
    ]))
    const received = []
    for (let i = 0; i < 4; i++) received.push(await client.messages.next())
    expect(received[0]).toBe('héllo 日本 🎉')
    expect(Buffer.isBuffer(received[1]) && received[1].toString('hex')).toBe('00ff80')
    expect(received[2]).toBe('fragmented')
    expect(Buffer.isBuffer(received[3]) && received[3].length).toBe(0)
  })

  it('answers a ping with a masked pong carrying the same payload', async () => {
    const { connection } = await openRaw()
    connection.write(F.ping('echo me', plain))
    const pong = await connection.readFrame()
    expect([pong.opcode, pong.masked, pong.payload.toString()]).toEqual([F.OPCODES.pong, true, 'echo me'])
  })

  it('ping(message, callback) calls back when the matching pong arrives', async () => {
    const { client, connection } = await openRaw()
    const ponged = deferred()
    expect(client.ws.ping('marco', () => ponged.resolve('called'))).toBe(true)
    const ping = await connection.readFrame()
    expect([ping.opcode, ping.payload.toString()]).toEqual([F.OPCODES.ping, 'marco'])
    connection.write(F.pong('marco', plain))
    expect(await withGuard(ponged.promise, 'the ping callback')).toBe('called')
  })

  // RFC 6455 section 5.5: control frames carry at most 125 bytes.
  if (isFaye) {
    it('ping() with a 126-byte payload: faye returns true and sends the over-long ping', async () => {
      const { client, connection } = await openRaw()
      expect(client.ws.ping(Buffer.alloc(126, 0x70))).toBe(true)
      const frame = await connection.readFrame()
      expect([frame.opcode, frame.length]).toEqual([F.OPCODES.ping, 126])
    })
  } else {
    it('ping() with a 126-byte payload returns false and sends nothing (RFC 6455 section 5.5)', async () => {
      const { client, connection } = await openRaw()
      expect(client.ws.ping(Buffer.alloc(126, 0x70))).toBe(false)
      expect(client.ws.ping(Buffer.alloc(125, 0x70))).toBe(true)
      const frame = await connection.readFrame()
      expect([frame.opcode, frame.length]).toEqual([F.OPCODES.ping, 125])
      expect(client.ws.readyState).toBe(1)
    })
  }
})

describe('the closing handshake', () => {
  it('echoes a server close frame (masked), reports it and drops the TCP connection', async () => {
    const { client, connection } = await openRaw()
    connection.write(F.close(1001, 'going away', plain))
    const echo = await connection.readClose()
    expect([echo.masked, echo.code, echo.reason]).toEqual([true, 1001, 'going away'])
    await client.waitClosed()
    expect(client.sequence()).toEqual(['open', 'end', 'close:1001:going away'])
    await connection.waitClosed()
  })

  it("close(code, reason) sends a masked close frame and reports the server's reply", async () => {
    const { client, connection } = await openRaw()
    client.ws.close(4001, 'client done')
    expect(client.ws.readyState).toBe(2)
    const frame = await connection.readClose()
    expect([frame.masked, frame.code, frame.reason]).toEqual([true, 4001, 'client done'])
    // Nothing more is sent once closing.
    expect(client.ws.send('too late')).toBe(false)
    connection.write(F.close(1000, 'server ok', plain))
    await client.waitClosed()
    expect(client.sequence()).toEqual(['open', 'end', 'close:1000:server ok'])
    expect(client.ws.readyState).toBe(3)
    await connection.waitClosed()
    expect(connection.frames).toHaveLength(1)
  })

  it('close() with no arguments sends 1000 and an empty reason', async () => {
    const { client, connection } = await openRaw()
    client.ws.close()
    const frame = await connection.readClose()
    expect([frame.code, frame.reason]).toEqual([1000, ''])
    connection.write(F.close(1000, '', plain))
    await client.waitClosed()
  })

  it('the server dropping the TCP connection is close 1006 with no error', async () => {
    const { client, connection } = await openRaw()
    connection.destroy()
    await client.waitClosed()
    expect(client.sequence()).toEqual(['open', 'end', 'close:1006:'])
  })
})

describe('protocol errors from the server: error, a masked close frame, close with the same code and reason', () => {
  const RSV1 = 'One or more reserved bits are on: reserved1 = 1, reserved2 = 0, reserved3 = 0'
  const cases = [
    { name: 'reserved bit 1', bytes: F.text('x', { ...plain, rsv1: true }), code: 1002, reason: RSV1 },
    { name: 'unknown opcode 3', bytes: F.frame({ ...plain, opcode: 3 }), code: 1002, reason: 'Unrecognized frame opcode: 3' },
    { name: 'a fragmented ping', bytes: F.ping('p', { ...plain, fin: false }), code: 1002, reason: 'Received fragmented control frame: opcode = 9' },
    { name: 'an unexpected continuation', bytes: F.continuation('c', plain), code: 1002, reason: 'Received unexpected continuation frame' },
    { name: 'invalid UTF-8', bytes: F.text([0xff], plain), code: 1007, reason: 'Could not decode a text frame as UTF-8' },
    { name: 'a frame over maxLength', bytes: F.binary(Buffer.alloc(17), plain), code: 1009, reason: 'WebSocket frame length too large', options: { maxLength: 16 } }
  ]

  it.each(cases)('$name', async ({ bytes, code, reason, options }) => {
    const { client, connection } = await openRaw([], options)
    connection.write(bytes)
    await client.waitClosed()
    expect(client.sequence()).toEqual(['open', `error:${reason}`, 'end', `close:${code}:${reason}`])
    const frame = await connection.readClose()
    expect([frame.masked, frame.code, frame.reason]).toEqual([true, code, reason])
    await connection.waitClosed()
  })

  // faye answers an invalid close frame with 1002 silently; this package
  // reports it as the protocol error it is (RFC 6455 section 7.4), as the
  // server side does (server_stricter.spec.js).
  const invalidClose = [
    { name: 'a close frame with code 1005', bytes: F.close(1005, '', plain), message: 'Received close frame with invalid status code: 1005' },
    { name: 'a close frame with a 1-byte payload', bytes: F.frame({ ...plain, opcode: 'close', payload: [3] }), message: 'Received close frame with a 1-byte payload' }
  ]

  it.each(invalidClose)(`$name: 1002${isFaye ? ' with no error (faye)' : ', error and the message as reason'}`, async ({ bytes, message }) => {
    const { client, connection } = await openRaw()
    connection.write(bytes)
    await client.waitClosed()
    const reason = isFaye ? '' : message
    expect(client.sequence()).toEqual(['open', ...(isFaye ? [] : [`error:${message}`]), 'end', `close:1002:${reason}`])
    const frame = await connection.readClose()
    expect([frame.masked, frame.code, frame.reason]).toEqual([true, 1002, reason])
  })
})
