'use strict'

// Attacks on the opening handshake.
//
// The client reads the server's response head itself, within fixed limits:
// 16384 bytes and 128 header lines (src/core/limits.rs). A head that is larger,
// or never ends, is refused at the limit with an error naming it; nothing
// more is read. The server gets its request from Node's HTTP parser, so the
// limits there are Node's (16 KiB of head, 431 otherwise), but what Node hands
// over may still be hostile: header values built to make a parser backtrack
// (websocket-extensions CVE-2020-7662, ws CVE-2021-32640), malformed draft-76
// keys, a request whose Sec-WebSocket-Key Node dropped past maxHeadersCount.
// And a hixie-76 client may send its 8-byte body slowly, or follow it with an
// endless frame.

const { performance } = require('perf_hooks')
const { WebSocket } = require('./helpers/impl')
const { startServer } = require('./helpers/server')
const { startRawServer } = require('./helpers/raw_server')
const { connectRaw } = require('./helpers/raw_peer')
const { openClient } = require('./helpers/client_socket')
const { startIsolated, MiB } = require('./helpers/isolated')
const H = require('./helpers/hixie')
const F = require('./helpers/frames')
const { quietPeriod, withGuard } = require('./helpers/wait')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const PREFIX = 'Error during WebSocket handshake: '
const HEAD_LIMIT = 16384
const HEADER_LIMIT = 128
const TOO_LARGE = 'WebSocket frame length too large'

async function clientAndRawServer (options) {
  const server = await startRawServer()
  const client = openClient(`${server.url}/`, [], options)
  const connection = await server.nextConnection()
  connection.socket.on('error', () => {})
  return { client, connection }
}

// Writes blocks until the connection goes away (or `cap` bytes, to end a
// failing run): a server that never finishes its response head.
async function writeEndlessly (socket, block, cap) {
  let written = 0
  while (written < cap && !socket.destroyed && socket.writable) {
    const ok = await new Promise((resolve) => socket.write(block, (error) => resolve(!error)))
    if (!ok) break
    written += block.length
  }
  return written
}

describe('the client refuses an oversized or endless response head', () => {
  const headTooLarge = `${PREFIX}Response head is larger than ${HEAD_LIMIT} bytes`

  it(`a 101 whose header never ends: refused at ${HEAD_LIMIT} bytes`, async () => {
    const { client, connection } = await clientAndRawServer()
    connection.respond('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nX-Endless: ')
    const writing = writeEndlessly(connection.socket, Buffer.alloc(16 * 1024, 0x61), 256 * MiB)
    await client.waitClosed()
    expect(client.sequence()).toEqual([`error:${headTooLarge}`, 'end', `close:1002:${headTooLarge}`])
    // The client hangs up: the endless writer is stopped by the connection closing.
    await connection.waitClosed()
    expect(await writing).toBeLessThan(256 * MiB)
    expect(connection.frames).toEqual([])
  })

  it('endless header lines, each short: refused at a limit, not read forever', async () => {
    const { client, connection } = await clientAndRawServer()
    connection.respond('HTTP/1.1 101 Switching Protocols\r\n')
    const lines = Buffer.from(Array.from({ length: 64 }, (_, i) => `X-Line-${i}: ${'v'.repeat(40)}\r\n`).join(''), 'latin1')
    const writing = writeEndlessly(connection.socket, lines, 256 * MiB)
    await client.waitClosed()
    const [error] = client.sequence()
    expect([`error:${headTooLarge}`, `error:${PREFIX}Response has more than ${HEADER_LIMIT} headers`]).toContain(error)
    await connection.waitClosed()
    expect(await writing).toBeLessThan(256 * MiB)
  })

  it('a 1 MB header in one write: refused at once', async () => {
    const { client, connection } = await clientAndRawServer()
    const started = performance.now()
    connection.respond(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Big: ${'b'.repeat(1000000)}\r\n\r\n`)
    await client.waitClosed()
    expect(performance.now() - started).toBeLessThan(1000)
    expect(client.sequence()).toEqual([`error:${headTooLarge}`, 'end', `close:1002:${headTooLarge}`])
    expect(client.ws.readyState).toBe(3)
  })

  it(`${HEADER_LIMIT + 1} header lines: refused; exactly ${HEADER_LIMIT} are accepted`, async () => {
    const fillers = (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`X-Filler-${i}`, String(i)]))

    const over = await clientAndRawServer()
    over.connection.accept101(fillers(HEADER_LIMIT + 1 - 3)) // + Upgrade, Connection, Accept
    await over.client.waitClosed()
    const message = `${PREFIX}Response has more than ${HEADER_LIMIT} headers`
    expect(over.client.sequence()).toEqual([`error:${message}`, 'end', `close:1002:${message}`])

    const exact = await clientAndRawServer()
    exact.connection.accept101(fillers(HEADER_LIMIT - 3))
    await exact.client.waitOpen()
    expect(Object.keys(exact.client.ws.headers)).toHaveLength(HEADER_LIMIT)
  })

  it('a head of exactly the limit is read; frames after it are processed', async () => {
    const { client, connection } = await clientAndRawServer()
    const head = connection.handshake()
    // Pad one header so that the whole head is HEAD_LIMIT bytes.
    const pad = HEAD_LIMIT - head.length - 'X-Pad: \r\n'.length
    const padded = connection.handshake({ 'X-Pad': 'p'.repeat(pad) })
    expect(padded.length).toBe(HEAD_LIMIT)
    connection.respond(Buffer.concat([padded, F.text('hello', { mask: false })]), { upgrade: true })
    await client.waitOpen()
    expect(await client.messages.next()).toBe('hello')
  })
})

describe('regression: header values built to make a parser backtrack', () => {
  // Node's 16 KiB head limit would answer these 431 itself: the server under
  // test takes larger heads so that the values reach the library.
  async function bigHeadServer (serverOptions) {
    const server = await startServer(serverOptions)
    server.server.maxHeaderSize = 1 << 20
    return server
  }

  async function timedHandshake (port, headers) {
    const started = performance.now()
    const peer = await connectRaw(port, { headers })
    return { peer, elapsed: performance.now() - started }
  }

  it('Sec-WebSocket-Extensions: a; b="\\c\\c\\c… (100k characters) completes or is refused within 1 s', async () => {
    const server = await bigHeadServer({ options: { extensions: [WebSocket.deflate] } })
    const value = 'a; b="' + '\\c'.repeat(50000)
    const { peer, elapsed } = await timedHandshake(server.port, { 'Sec-WebSocket-Extensions': value })
    expect(elapsed).toBeLessThan(1000)
    expect([101, 400]).toContain(peer.response.statusCode)
    const connection = await server.nextConnection()
    if (peer.response.statusCode === 400) {
      await connection.waitClosed()
      expect(connection.sequence()[0]).toMatch(/^error:Invalid Sec-WebSocket-Extensions header/)
    } else {
      await connection.waitOpen()
      expect(peer.response.headers['sec-websocket-extensions']).toBeUndefined()
    }
  })

  it('the same value offered with permessage-deflate is still parsed in time', async () => {
    const server = await bigHeadServer({ options: { extensions: [WebSocket.deflate] } })
    const value = 'permessage-deflate, a; b="' + '\\c'.repeat(50000) + '", permessage-deflate'
    const { peer, elapsed } = await timedHandshake(server.port, { 'Sec-WebSocket-Extensions': value })
    expect(elapsed).toBeLessThan(1000)
    expect([101, 400]).toContain(peer.response.statusCode)
  })

  it('Sec-WebSocket-Protocol: b + 60,000 spaces + x completes or is refused within 1 s', async () => {
    const server = await bigHeadServer({ protocols: ['b', 'x'] })
    const { peer, elapsed } = await timedHandshake(server.port, { 'Sec-WebSocket-Protocol': 'b' + ' '.repeat(60000) + 'x' })
    expect(elapsed).toBeLessThan(1000)
    expect([101, 400]).toContain(peer.response.statusCode)
    const connection = await server.nextConnection()
    if (peer.response.statusCode === 101) {
      await connection.waitOpen()
      // Whatever was chosen is one of ours, never the attacker's string.
      expect(['', 'b', 'x']).toContain(connection.ws.protocol)
    }
  })

  it('Sec-WebSocket-Protocol: b, + 60,000 spaces and commas + x completes or is refused within 1 s', async () => {
    const server = await bigHeadServer({ protocols: ['x'] })
    const { peer, elapsed } = await timedHandshake(server.port, { 'Sec-WebSocket-Protocol': 'b,' + ' ,'.repeat(30000) + 'x' })
    expect(elapsed).toBeLessThan(1000)
    expect([101, 400]).toContain(peer.response.statusCode)
  })

  it('the client: a response with such headers (within the head limit) is judged within 1 s', async () => {
    for (const [name, value, protocols] of [
      ['Sec-WebSocket-Extensions', 'a; b="' + '\\c'.repeat(7000), []],
      ['Sec-WebSocket-Protocol', 'b' + ' '.repeat(15000) + 'x', ['b']]
    ]) {
      const server = await startRawServer()
      const client = openClient(`${server.url}/`, protocols)
      const connection = await server.nextConnection()
      const started = performance.now()
      connection.accept101({ [name]: value })
      await client.waitClosed()
      expect(performance.now() - started).toBeLessThan(1000)
      expect(client.sequence()[0]).toMatch(/^error:Error during WebSocket handshake: /)
      expect(client.sequence()).not.toContain('open')
    }
  })
})

describe('regression: malformed draft-76 keys are a 400, never an exception', () => {
  const INVALID = 'Client sent invalid Sec-WebSocket-Key headers'
  const keys = [
    ['no digits', { key1: 'abc def' }],
    ['no spaces', { key1: '12345678' }],
    ['punctuation and spaces, no digits', { key2: '. , ; : !' }],
    ['2^32 after division (out of range)', { key1: '4294967296 ' }],
    ['2^64 + 1 digits-worth (overflows 64 bits)', { key1: '18446744073709551617 ' }],
    ['10,000 digits', { key2: '7'.repeat(10000) + ' ' }],
    ['10,000 spaces around one digit', { key1: ' '.repeat(5000) + '5' + ' '.repeat(5000) }],
    ['zero', { key1: '0 0 0' }],
    ['not divisible by the spaces', { key1: '7  ' }],
    ['non-ASCII digits only', { key2: '\u0661\u0662 \u0663' }]
  ]

  it.each(keys)('%s', async (_label, fields) => {
    const server = await startServer()
    server.server.maxHeaderSize = 1 << 20
    const peer = await H.connectDraft(server.port, H.draftRequest(76, fields), { body: H.BODY })
    // nextConnection() rejects if the constructor threw.
    const connection = await server.nextConnection()
    expect(peer.statusCode).toBe(400)
    await peer.waitClosed()
    expect(peer.raw.toString('latin1')).toMatch(new RegExp(`\\r\\n\\r\\n${INVALID}$`))
    await connection.waitClosed()
    expect(connection.sequence()).toEqual([`error:${INVALID}`, 'end', 'close:null:null'])

    // The same server goes on serving valid drafts.
    const next = await H.connectDraft(server.port, H.draftRequest(76), { body: H.BODY })
    expect(next.statusCode).toBe(101)
    await (await server.nextConnection()).waitOpen()
  })
})

describe("regression: headers past Node's maxHeadersCount are dropped before the library sees them", () => {
  // Node keeps the first maxHeadersCount headers of a request and silently
  // drops the rest (the default keeps about a thousand).
  function request (port, { keyFirst = false, upgradeFirst = true } = {}) {
    const lines = ['GET /chat HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Sec-WebSocket-Version: 13']
    const key = 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='
    const upgrade = ['Upgrade: websocket', 'Connection: Upgrade']
    if (keyFirst) lines.push(key)
    if (upgradeFirst) lines.push(...upgrade)
    for (let i = 0; i < 2100; i++) lines.push(`X-Filler-${i}: ${i}`)
    if (!keyFirst) lines.push(key)
    if (!upgradeFirst) lines.push(...upgrade)
    return lines.join('\r\n') + '\r\n\r\n'
  }

  it('Sec-WebSocket-Key dropped: 400 Missing handshake request header, no crash', async () => {
    const server = await startServer()
    server.server.maxHeaderSize = 1 << 20
    const peer = await connectRaw(server.port, { request: request(server.port) })
    const connection = await server.nextConnection()
    const message = 'Missing handshake request header: Sec-WebSocket-Key'
    expect(peer.response.statusCode).toBe(400)
    expect(peer.response.text).toBe(message)
    await connection.waitClosed()
    expect(connection.sequence()).toEqual([`error:${message}`, 'end', `close:1002:${message}`])

    // Kept when it comes first: the same request shape then opens.
    const ok = await connectRaw(server.port, { request: request(server.port, { keyFirst: true }) })
    expect(ok.response.statusCode).toBe(101)
    await (await server.nextConnection()).waitOpen()
  })

  it('Upgrade and Connection dropped, constructed anyway: 400 Not a WebSocket request, no crash', async () => {
    const server = await startServer({ force: true })
    server.server.maxHeaderSize = 1 << 20
    const peer = await connectRaw(server.port, { request: request(server.port, { keyFirst: true, upgradeFirst: false }) })
      .catch((error) => ({ error }))
    if (peer.error) {
      // Node itself may not treat the request as an upgrade without the header;
      // then there is no socket for the library to handle.
      expect(server.connections).toEqual([])
      return
    }
    const connection = await server.nextConnection()
    expect(peer.response.statusCode).toBe(400)
    expect(peer.response.text).toBe('Not a WebSocket request')
    await connection.waitClosed()
  })
})

describe('hixie-76: a slow or oversized handshake body', () => {
  it('a body trickled one byte per write: no open before the 8th byte, then the digest', async () => {
    const server = await startServer()
    const peer = await H.connectDraft(server.port, H.draftRequest(76))
    peer.socket.setNoDelay(true)
    const connection = await server.nextConnection()
    for (const byte of H.BODY.subarray(0, 7)) {
      await new Promise((resolve) => peer.socket.write(Buffer.from([byte]), resolve))
    }
    // Negative check: seven bytes are not a body.
    await quietPeriod(100)
    expect(connection.ws.readyState).toBe(0)
    expect(peer.after.length).toBe(0)
    peer.write(Buffer.concat([H.BODY.subarray(7), H.textFrame('right after')]))
    await connection.waitOpen()
    expect(await connection.messages.next()).toBe('right after')
    expect((await peer.waitAfter(16)).subarray(0, 16)).toEqual(H.DIGEST)
  })

  it('a body followed by an endless text frame: refused at maxLength, memory bounded', async () => {
    const child = await startIsolated()
    const port = await child.listen({ options: { maxLength: MiB } })
    const peer = await H.connectDraft(port, H.draftRequest(76), { body: H.BODY })
    peer.socket.on('error', () => {})
    const connection = await child.nextConnection()
    await connection.waitOpen()
    const before = await child.resetPeak({ gcEvery: 10 })
    peer.write(Buffer.from([0x00]))
    const written = await writeEndlessly(peer.socket, Buffer.alloc(64 * 1024, 0x61), 64 * MiB)
    const event = await connection.waitClosed()
    expect([event.code, event.reason]).toEqual([null, null])
    expect(connection.sequence()).toEqual(['open', `error:${TOO_LARGE}`, 'close:null:null'])
    await peer.waitClosed()
    expect(written).toBeLessThan(64 * MiB)
    const after = await child.memory()
    expect(after.peak - before.rss).toBeLessThan(16 * MiB)
  })

  it('a body that never comes: the socket stays connecting and closes cleanly when the peer leaves', async () => {
    const server = await startServer()
    const peer = await H.connectDraft(server.port, H.draftRequest(76))
    const connection = await server.nextConnection()
    expect(connection.ws.send('queued')).toBe(true)
    expect(connection.ws.readyState).toBe(0)
    peer.destroy()
    const event = await withGuard(connection.closed, 'the close event')
    expect(event.code).toBe(1006)
    expect(connection.sequence()).toEqual(['end', 'close:1006:'])
  })
})
