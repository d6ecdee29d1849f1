'use strict'

// The closing handshake (RFC 6455 section 5.5.1 / 7), both directions, on
// the wire and in the server socket's events. The empty close frame (1005
// versus faye's 1000) is in server_stricter.spec.js.

const { openRaw } = require('./helpers/server')
const F = require('./helpers/frames')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

describe('peer-initiated close', () => {
  it("echoes close 1000 'bye' byte for byte, reports it and drops the TCP connection", async () => {
    const { peer, connection } = await openRaw()
    peer.write(F.close(1000, 'bye'))
    const echo = await peer.readClose()
    expect(echo.masked).toBe(false)
    expect(echo.fin).toBe(true)
    expect(echo.payload.toString('hex')).toBe('03e8' + Buffer.from('bye').toString('hex'))
    const event = await connection.waitClosed()
    expect([event.code, event.reason]).toEqual([1000, 'bye'])
    const tcp = await peer.waitClosed()
    expect(tcp.gotEnd).toBe(true)
    expect(connection.sequence()).toEqual(['open', 'end', 'close:1000:bye'])
    expect(connection.ws.readyState).toBe(3)
  })

  it('echoes a multi-byte UTF-8 reason unchanged', async () => {
    const { peer, connection } = await openRaw()
    const reason = 'ciao — 再见 👋'
    peer.write(F.close(4000, reason))
    const echo = await peer.readClose()
    expect([echo.code, echo.reason]).toEqual([4000, reason])
    const event = await connection.waitClosed()
    expect([event.code, event.reason]).toEqual([4000, reason])
  })

  it('echoes a close frame that arrives between the fragments of a message', async () => {
    const { peer, connection } = await openRaw()
    peer.write(Buffer.concat([F.text('half', { fin: false }), F.close(1000, 'mid-message')]))
    const echo = await peer.readClose()
    expect([echo.code, echo.reason]).toEqual([1000, 'mid-message'])
    await connection.waitClosed()
    expect(connection.sequence()).toEqual(['open', 'end', 'close:1000:mid-message'])
  })
})

describe('server-initiated close', () => {
  it('sends close(code, reason), enters CLOSING, and reports the peer\'s reply', async () => {
    const { peer, connection } = await openRaw()
    connection.ws.close(3000, 'going')
    expect(connection.ws.readyState).toBe(2)
    const frame = await peer.readClose()
    expect([frame.code, frame.reason, frame.masked]).toEqual([3000, 'going', false])
    peer.write(F.close(3000, 'going'))
    const event = await connection.waitClosed()
    expect([event.code, event.reason]).toEqual([3000, 'going'])
    await peer.waitClosed()
  })

  it('sends 03 e8 for close() with no arguments', async () => {
    const { peer, connection } = await openRaw()
    connection.ws.close()
    const frame = await peer.readClose()
    expect(frame.payload.toString('hex')).toBe('03e8')
    peer.write(F.close(1000))
    await connection.waitClosed()
  })

  it('accepts a reason of exactly 123 UTF-8 bytes', async () => {
    const { peer, connection } = await openRaw()
    const reason = '€'.repeat(41) // 123 bytes
    connection.ws.close(1000, reason)
    const frame = await peer.readClose()
    expect(frame.length).toBe(125)
    expect(frame.reason).toBe(reason)
    peer.write(F.close(1000))
    await connection.waitClosed()
  })

  it('sends only one close frame when close() is called twice', async () => {
    const { peer, connection } = await openRaw()
    connection.ws.close(3001, 'first')
    connection.ws.close(3002, 'second')
    await peer.readClose()
    peer.write(F.close(3001, 'first'))
    await connection.waitClosed()
    await peer.waitClosed()
    expect(peer.frames.filter((f) => f.opcode === F.OPCODES.close).map((f) => f.code)).toEqual([3001])
  })

  it('refuses send() and ping() while closing, and sends neither', async () => {
    const { peer, connection } = await openRaw()
    connection.ws.close(1000, 'closing')
    expect(connection.ws.send('late')).toBe(false)
    expect(connection.ws.ping('late')).toBe(false)
    await peer.readClose()
    peer.write(F.close(1000))
    await connection.waitClosed()
    await peer.waitClosed()
    expect(peer.frames.map((f) => f.opcode)).toEqual([F.OPCODES.close])
  })

  it('reports close 1006 when the peer drops the connection instead of answering', async () => {
    const { peer, connection } = await openRaw()
    connection.ws.close(1000, 'please answer')
    await peer.readClose()
    peer.destroy()
    const event = await connection.waitClosed()
    expect([event.code, event.reason]).toEqual([1006, ''])
    expect(connection.sequence()).toEqual(['open', 'end', 'close:1006:'])
  })
})
