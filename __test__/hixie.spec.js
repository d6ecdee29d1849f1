'use strict'

// The hixie-75 and hixie-76 drafts on the server side, spoken by raw TCP peers.
// Under WS_IMPL=faye these run against faye-websocket with `allowDrafts`
// injected (faye 0.11.4 itself never enables the drafts), so the reference run
// documents faye's draft behaviour; where this package is stricter each test
// says so and branches on isFaye.

const http = require('http')
const driver = require('websocket-driver')
const { isFaye, WebSocket: Impl } = require('./helpers/impl')
const { startServer } = require('./helpers/server')
const H = require('./helpers/hixie')
const { waitFor, quietPeriod } = require('./helpers/wait')
const { track, closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const WebSocket = isFaye ? H.fayeWithDrafts() : Impl

const HEAD_75 = 'HTTP/1.1 101 Web Socket Protocol Handshake\r\n' +
  'Upgrade: WebSocket\r\n' +
  'Connection: Upgrade\r\n' +
  'WebSocket-Origin: http://example.com\r\n' +
  'WebSocket-Location: ws://example.com/demo\r\n' +
  '\r\n'

const HEAD_76 = 'HTTP/1.1 101 WebSocket Protocol Handshake\r\n' +
  'Upgrade: WebSocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Origin: http://example.com\r\n' +
  'Sec-WebSocket-Location: ws://example.com/demo\r\n' +
  '\r\n'

const INVALID_KEYS = 'Client sent invalid Sec-WebSocket-Key headers'
const UNICODE = 'héllo ✓ 中文 😀 𝄞'

// Opens a draft connection and waits until both ends consider it open.
// Returns { server, peer, connection, skip } where `skip` is the number of
// bytes (the hixie-76 digest) before the first frame.
async function openDraft (draft, serverOptions = {}) {
  const server = await startServer({ WebSocket, ...serverOptions })
  const peer = await H.connectDraft(server.port, H.draftRequest(draft), { body: draft === 76 ? H.BODY : undefined })
  const connection = await server.nextConnection()
  await connection.waitOpen()
  const skip = draft === 76 ? H.DIGEST.length : 0
  if (skip) await peer.waitAfter(skip, 'the hixie-76 digest')
  return { server, peer, connection, skip }
}

describe('hixie-76 opening handshake', () => {
  it("answers the draft's example keys and body with its head and the digest 8jKS'y:G*Co,Wxa-", async () => {
    const { peer, connection } = await openDraft(76)
    expect(peer.head).toBe(HEAD_76)
    expect(peer.after).toEqual(H.DIGEST)
    expect(connection.ws.version).toBe('hixie-76')
    expect(connection.ws.readyState).toBe(1)
    expect(connection.ws.protocol).toBe('')
    expect(connection.ws.url).toBe('ws://example.com/demo')
  })

  it('waits for a LATE body, then writes the digest and the messages queued before it, in order', async () => {
    const server = await startServer({
      WebSocket,
      setup: (ws) => {
        // Sent while connecting: queued until the handshake completes.
        expect(ws.send('early')).toBe(true)
        expect(ws.send('second ✓')).toBe(true)
      }
    })
    const peer = await H.connectDraft(server.port, H.draftRequest(76))
    const connection = await server.nextConnection()
    expect(peer.head).toBe(HEAD_76)
    // Nothing may follow the head until the body arrives (negative: quiet period).
    await quietPeriod(100)
    expect(peer.after.length).toBe(0)
    expect(connection.ws.readyState).toBe(0)
    expect(connection.sequence()).toEqual([])

    // The 8 bytes, split across TCP writes as a slow proxy might deliver them.
    for (const piece of [H.BODY.subarray(0, 3), H.BODY.subarray(3, 7), H.BODY.subarray(7)]) {
      await new Promise((resolve) => peer.socket.write(piece, resolve))
    }
    const expected = Buffer.concat([H.DIGEST, H.textFrame('early'), H.textFrame('second ✓')])
    await peer.waitAfter(expected.length, 'the digest and the queued messages')
    expect(peer.after).toEqual(expected)
    await connection.waitOpen()
    expect(connection.ws.readyState).toBe(1)

    // And the connection works from then on.
    peer.write(H.textFrame('after'))
    expect(await connection.messages.next()).toBe('after')
  })

  it('parses frames that arrive in the same packet as the body', async () => {
    const server = await startServer({ WebSocket })
    const body = Buffer.concat([H.BODY, H.textFrame('one'), H.textFrame(UNICODE)])
    const peer = await H.connectDraft(server.port, H.draftRequest(76), { body })
    const connection = await server.nextConnection()
    expect(await connection.messages.next()).toBe('one')
    expect(await connection.messages.next()).toBe(UNICODE)
    await peer.waitAfter(16)
    expect(peer.after).toEqual(H.DIGEST)
  })

  it('accepts the largest key value, 4294967295 (2^32 - 1)', async () => {
    const server = await startServer({ WebSocket })
    const peer = await H.connectDraft(server.port, H.draftRequest(76, { key1: '42949 67295' }), { body: H.BODY })
    expect(peer.statusCode).toBe(101)
    const connection = await server.nextConnection()
    await connection.waitOpen()
  })

  const malformed = [
    ['no digits', { key1: 'no digits here' }],
    ['no spaces', { key2: '1299851Y31.P00' }],
    ['number not divisible by the spaces', { key1: '7  x' }],
    ['number zero', { key1: '0 0' }],
    ['number / spaces out of the 32-bit range', { key1: '42949 67296' }],
    ['a 300-digit number', { key1: '9'.repeat(150) + ' ' + '9'.repeat(150) }],
    ['a 300-digit number in key2', { key2: '1 ' + '3'.repeat(300) }]
  ]

  it.each(malformed)('refuses %s with 400, never an exception', async (_label, keys) => {
    const server = await startServer({ WebSocket })
    const peer = await H.connectDraft(server.port, H.draftRequest(76, keys), { body: H.BODY })
    // nextConnection() rejects if the constructor threw
    const connection = await server.nextConnection()
    await peer.waitClosed()
    expect(peer.raw.toString('latin1')).toBe(
      'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n' +
      `Content-Length: ${INVALID_KEYS.length}\r\n\r\n${INVALID_KEYS}`
    )
    await connection.waitClosed()
    expect(connection.sequence()).toEqual([`error:${INVALID_KEYS}`, 'end', 'close:null:null'])
    expect(connection.ws.readyState).toBe(3)

    // The server goes on serving.
    const next = await H.connectDraft(server.port, H.draftRequest(76), { body: H.BODY })
    expect(next.statusCode).toBe(101)
  })

  it('refuses a missing Sec-WebSocket-Key2 with 400', async () => {
    const server = await startServer({ WebSocket })
    const peer = await H.connectDraft(server.port, H.draftRequest(76, { headers: { 'Sec-WebSocket-Key2': null } }))
    const connection = await server.nextConnection()
    await peer.waitClosed()
    const message = 'Missing required header: Sec-WebSocket-Key2'
    expect(peer.raw.toString('latin1')).toBe(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: ${message.length}\r\n\r\n${message}`
    )
    await connection.waitClosed()
    expect(connection.sequence()).toEqual([`error:${message}`, 'end', 'close:null:null'])
  })
})

describe('hixie-75 opening handshake', () => {
  it('answers with the draft-75 head at once, version hixie-75', async () => {
    const { peer, connection } = await openDraft(75)
    expect(peer.head).toBe(HEAD_75)
    expect(peer.after.length).toBe(0)
    expect(connection.ws.version).toBe('hixie-75')
    expect(connection.ws.readyState).toBe(1)
    expect(connection.ws.protocol).toBe('')
  })

  it('leaves WebSocket-Origin out when the request has no Origin', async () => {
    const server = await startServer({ WebSocket })
    const peer = await H.connectDraft(server.port, H.draftRequest(75, { origin: null, path: '/a?b=1' }))
    expect(peer.head).toBe(
      'HTTP/1.1 101 Web Socket Protocol Handshake\r\nUpgrade: WebSocket\r\nConnection: Upgrade\r\n' +
      'WebSocket-Location: ws://example.com/a?b=1\r\n\r\n'
    )
  })

  it('opens on the next tick, after listeners added right after construction', async () => {
    const states = []
    const server = await startServer({ WebSocket, setup: (ws) => states.push(ws.readyState) })
    await H.connectDraft(server.port, H.draftRequest(75))
    const connection = await server.nextConnection()
    await connection.waitOpen()
    expect(states).toEqual([0])
    expect(connection.sequence()).toEqual(['open'])
  })
})

describe.each([75, 76])('hixie-%i messages', (draft) => {
  it('receives UTF-8 text and sends it back', async () => {
    const { peer, connection, skip } = await openDraft(draft, {
      setup: (ws) => ws.on('message', (event) => ws.send(event.data))
    })
    peer.write(H.textFrame(UNICODE))
    expect(await connection.messages.next()).toBe(UNICODE)
    const [frame] = await peer.readFrames(1, skip)
    expect(frame).toEqual({ type: 'text', data: UNICODE })
    expect(peer.after.subarray(skip)).toEqual(H.textFrame(UNICODE))
  })

  it('reassembles text split at every byte', async () => {
    const { peer, connection } = await openDraft(draft)
    const frames = Buffer.concat([H.textFrame('ab ✓'), H.textFrame(''), H.textFrame('😀')])
    for (let i = 0; i < frames.length; i++) {
      await new Promise((resolve) => peer.socket.write(frames.subarray(i, i + 1), resolve))
    }
    expect(await connection.messages.next()).toBe('ab ✓')
    expect(await connection.messages.next()).toBe('')
    expect(await connection.messages.next()).toBe('😀')
  })

  it('skips length-prefixed binary frames and keeps reading text', async () => {
    const { peer, connection } = await openDraft(draft)
    // 0x80 lead, length 3; 0x81 lead, length 0x81 0x00 = 128
    peer.write(Buffer.concat([
      Buffer.from([0x80, 0x03, 1, 2, 3]),
      Buffer.from([0x81, 0x81, 0x00]), Buffer.alloc(128, 0xff),
      H.textFrame('after binary')
    ]))
    expect(await connection.messages.next()).toBe('after binary')
    expect(connection.sequence()).toEqual(['open', 'message:after binary'])
  })

  it('ping() returns false and writes nothing', async () => {
    const { peer, connection, skip } = await openDraft(draft)
    expect(connection.ws.ping()).toBe(false)
    expect(connection.ws.ping('x', () => {})).toBe(false)
    connection.ws.send('marker')
    const [frame] = await peer.readFrames(1, skip)
    expect(frame).toEqual({ type: 'text', data: 'marker' })
    expect(peer.after.subarray(skip)).toEqual(H.textFrame('marker'))
  })

  it(`send(Buffer) ${isFaye ? 'returns true (faye) but' : 'returns false (stricter than faye) and'} writes nothing`, async () => {
    const { peer, connection, skip } = await openDraft(draft)
    expect(connection.ws.send(Buffer.from([1, 2, 3]))).toBe(isFaye)
    expect(connection.ws.send('marker')).toBe(true)
    await peer.readFrames(1, skip)
    expect(peer.after.subarray(skip)).toEqual(H.textFrame('marker'))
  })

  it('reports a TCP drop as close 1006', async () => {
    const { peer, connection } = await openDraft(draft)
    peer.destroy()
    const event = await connection.waitClosed()
    expect([event.code, event.reason]).toEqual([1006, ''])
    expect(connection.sequence()).toEqual(['open', 'end', 'close:1006:'])
    expect(connection.ws.readyState).toBe(3)
  })

  it(`close() ${draft === 76 ? 'writes FF 00' : 'writes nothing'}, reports null code and reason and ends the TCP connection`, async () => {
    const { peer, connection, skip } = await openDraft(draft)
    connection.ws.close()
    const event = await connection.waitClosed()
    expect([event.code, event.reason]).toEqual([null, null])
    await peer.waitClosed()
    expect(peer.after.subarray(skip)).toEqual(draft === 76 ? H.CLOSING : Buffer.alloc(0))
    expect(connection.sequence()).toEqual(['open', 'end', 'close:null:null'])
    expect(connection.ws.send('late')).toBe(false)
  })

  it("close(code) checks the code as faye does, although the drafts can't send it", async () => {
    const { connection } = await openDraft(draft)
    expect(() => connection.ws.close(1001)).toThrow(
      "Failed to execute 'close' on WebSocket: The code must be either 1000, or between 3000 and 4999. 1001 is neither."
    )
  })

  it(`a long run of 0xFF length bytes ${isFaye ? 'closes the connection (faye: no error event)' : 'is an error, then close'}; the process is fine`, async () => {
    const { server, peer, connection } = await openDraft(draft)
    peer.write(Buffer.alloc(4096, 0xff))
    const event = await connection.waitClosed()
    expect([event.code, event.reason]).toEqual([null, null])
    expect(connection.sequence()).toEqual(isFaye
      ? ['open', 'end', 'close:null:null']
      : ['open', 'error:WebSocket frame length too large', 'end', 'close:null:null'])
    await peer.waitClosed()

    // The same server goes on serving.
    await H.connectDraft(server.port, H.draftRequest(draft), { body: draft === 76 ? H.BODY : undefined })
    const next = await server.nextConnection()
    await next.waitOpen()
  })

  it(`text longer than maxLength ${isFaye ? 'closes (faye: no error event)' : 'is an error, then close'}`, async () => {
    const { peer, connection } = await openDraft(draft, { options: { maxLength: 16 } })
    peer.write(H.textFrame('x'.repeat(17)))
    await connection.waitClosed()
    expect(connection.sequence()).toEqual(isFaye
      ? ['open', 'end', 'close:null:null']
      : ['open', 'error:WebSocket frame length too large', 'end', 'close:null:null'])
  })

  it(`invalid UTF-8 ${isFaye ? 'is decoded with U+FFFD by faye' : 'is an error, then close (stricter than faye)'}`, async () => {
    const { peer, connection } = await openDraft(draft)
    peer.write(Buffer.from([0x00, 0xc0, 0xaf, 0xff]))
    if (isFaye) {
      expect(await connection.messages.next()).toBe('\ufffd\ufffd')
      return
    }
    await connection.waitClosed()
    expect(connection.sequence()).toEqual(['open', 'error:Could not decode a text frame as UTF-8', 'end', 'close:null:null'])
  })
})

describe('hixie-76 closing handshake', () => {
  it('answers FF 00 with FF 00 and reports close with code null and reason null', async () => {
    const { peer, connection, skip } = await openDraft(76)
    peer.write(H.CLOSING)
    const event = await connection.waitClosed()
    expect(event.code).toBeNull()
    expect(event.reason).toBeNull()
    await peer.waitClosed()
    expect(peer.after.subarray(skip)).toEqual(H.CLOSING)
    expect(connection.sequence()).toEqual(['open', 'end', 'close:null:null'])
    expect(connection.ws.readyState).toBe(3)
  })

  it('replies to a message in the same read as FF 00 go out before the FF 00', async () => {
    const { peer, connection, skip } = await openDraft(76, {
      setup: (ws) => ws.on('message', (event) => ws.send(event.data))
    })
    peer.write(Buffer.concat([H.textFrame('last words'), H.CLOSING]))
    await connection.waitClosed()
    await peer.waitClosed()
    expect(peer.after.subarray(skip)).toEqual(Buffer.concat([H.textFrame('last words'), H.CLOSING]))
    expect(connection.sequence()).toEqual(['open', 'message:last words', 'end', 'close:null:null'])
  })

  it('on hixie-75, FF 00 is an empty binary frame, not a close', async () => {
    const { peer, connection } = await openDraft(75)
    peer.write(Buffer.concat([H.CLOSING, H.textFrame('still open')]))
    expect(await connection.messages.next()).toBe('still open')
    expect(connection.ws.readyState).toBe(1)
  })
})

// websocket-driver with allowDrafts, wired to the socket the way faye's API does.
async function startDriverServer ({ protocols, headers } = {}) {
  const sockets = new Set()
  const server = http.createServer()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.on('upgrade', (request, socket, body) => {
    const ws = driver.http(request, { allowDrafts: true, protocols })
    for (const name in headers || {}) ws.setHeader(name, headers[name])
    ws.on('close', () => socket.end())
    socket.pipe(ws.io).pipe(socket)
    ws.start()
    ws.io.write(body)
  })
  server.listen(0, '127.0.0.1')
  await waitFor(server, 'listening')
  track(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  }, 10)
  return { port: server.address().port }
}

// Every byte of the response to `request` (+ `body`): the head, and the digest
// or the refusal body.
async function responseBytes (port, request, body) {
  const peer = await H.connectDraft(port, request, { body })
  if (peer.statusCode !== 101) await peer.waitClosed()
  else if (/Sec-WebSocket-Location/.test(peer.head) && body) await peer.waitAfter(16)
  const bytes = peer.raw
  peer.destroy()
  return bytes
}

describe('handshake bytes are those of websocket-driver (allowDrafts: true)', () => {
  const cases = [
    ['hixie-75', H.draftRequest(75), undefined, {}],
    ['hixie-75 without Origin, with a query', H.draftRequest(75, { origin: null, path: '/p?q=1&r' }), undefined, {}],
    ['hixie-75 with the headers option', H.draftRequest(75), undefined, { headers: { 'X-Custom': 'v', 'Set-Cookie': 'a=1' } }],
    ['hixie-75 asking for a subprotocol', H.draftRequest(75, { headers: { 'WebSocket-Protocol': 'sample' } }), undefined, { protocols: ['sample'] }],
    ['hixie-76, the example', H.draftRequest(76), H.BODY, {}],
    ['hixie-76 with the headers option', H.draftRequest(76), H.BODY, { headers: { 'X-Custom': 'v' } }],
    ['hixie-76 asking for a subprotocol', H.draftRequest(76, { headers: { 'Sec-WebSocket-Protocol': 'sample' } }), H.BODY, { protocols: ['sample'] }],
    ['hixie-76 other keys', H.draftRequest(76, { key1: '1 2 3 4', key2: '8  8 8 8' }), Buffer.from('abcdefgh'), {}],
    ['hixie-76 refused: no spaces', H.draftRequest(76, { key1: '12345' }), H.BODY, {}],
    ['hixie-76 refused: missing key1', H.draftRequest(76, { headers: { 'Sec-WebSocket-Key1': null } }), H.BODY, {}],
    ['not an upgrade to WebSocket', H.draftRequest(75, { headers: { Upgrade: 'h2c' } }), undefined, {}]
  ]

  it.each(cases)('%s', async (_label, request, body, { protocols, headers }) => {
    const reference = await startDriverServer({ protocols, headers })
    const expected = await responseBytes(reference.port, request, body)
    const server = await startServer({ WebSocket, protocols, options: headers ? { headers } : undefined, force: true })
    const actual = await responseBytes(server.port, request, body)
    expect(actual.toString('latin1')).toBe(expected.toString('latin1'))
    expect(expected.length).toBeGreaterThan(0)
  })
})
