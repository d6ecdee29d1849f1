'use strict'

// A sent string is encoded by V8 straight into its frame, after a header sized for
// its UTF-8 length. Every length where the header's size changes, and every kind of
// character, arrives intact at a `ws` peer, from the server and from the client
// (whose frames are masked).

const WebSocket = require('..')
const native = require('../lib/native')
const { openWithWsClient, openRaw } = require('./helpers/server')
const F = require('./helpers/frames')
const { startWsServer } = require('./helpers/ws_server')
const { closeAll } = require('./helpers/cleanup')
const D = require('./helpers/deflate')

afterEach(closeAll)

// Lengths in UTF-16 units around the header sizes' limits: 125/126 bytes and
// 65535/65536 bytes, reached by one-, two- and three-byte characters.
const LENGTHS = [0, 1, 41, 42, 43, 62, 63, 100, 125, 126, 127, 21845, 21846, 32767, 32768, 65535, 65536, 70000]

const KINDS = {
  ascii: (n) => 'a'.repeat(n),
  latin1: (n) => 'é'.repeat(n),
  bmp: (n) => '€'.repeat(n),
  // A surrogate pair is two units and four bytes; an odd length ends on a lone
  // high surrogate, which goes out as U+FFFD (three bytes).
  astral: (n) => '😀'.repeat(n >> 1) + (n & 1 ? '\ud83d' : ''),
  mixed: (n) => Array.from({ length: n }, (_, i) => 'a€éz'[i % 4]).join('')
}

function cases () {
  const out = []
  for (const [kind, make] of Object.entries(KINDS)) {
    for (const n of LENGTHS) out.push({ label: `${kind} × ${n}`, text: make(n) })
  }
  return out
}

// What a peer receives for `text`: lone surrogates become U+FFFD.
const expected = (text) => Buffer.from(text, 'utf8').toString('utf8')

test('from the server: every length and kind of text arrives as sent', async () => {
  const { client, connection } = await openWithWsClient({ WebSocket })
  const all = cases()
  for (const { text } of all) connection.ws.send(text)
  for (const { label, text } of all) {
    const message = await client.messages.next()
    expect({ label, isBinary: message.isBinary, text: message.text }).toEqual({ label, isBinary: false, text: expected(text) })
  }
})

test('from the client: every length and kind of text arrives as sent', async () => {
  const server = await startWsServer()
  const client = D.openClient(WebSocket.Client, server.url, [], {})
  const connection = await server.nextConnection()
  await client.waitOpen()
  const all = cases()
  for (const { text } of all) client.ws.send(text)
  for (const { label, text } of all) {
    const message = await connection.messages.next()
    expect({ label, isBinary: message.isBinary, text: message.text }).toEqual({ label, isBinary: false, text: expected(text) })
  }
})

// Long strings the JS side finds to be ASCII are copied as Latin-1 rather than
// encoded; the binding still frames a string with bytes over 0x7f as UTF-8 when told
// it is ASCII, so a wrong answer cannot put invalid UTF-8 on the wire.
test('a long string wrongly said to be ASCII is framed as its UTF-8', async () => {
  const { client, connection } = await openWithWsClient({ WebSocket })
  for (const text of ['é'.repeat(5000), '€'.repeat(5000), 'a'.repeat(5000) + 'é']) {
    const frame = native.connectionSendText(connection.ws._native._handle, text, true)
    expect(frame[0]).toBe(0x81)
    expect(frame[1]).toBe(126)
    const payload = frame.subarray(4)
    expect(frame.readUInt16BE(2)).toBe(payload.length)
    expect(payload.toString('utf8')).toBe(text)
  }
})

// A long text message found to be ASCII on receipt is known as such while its
// handlers run: sending that string, or one equal to it, copies it without asking
// again. A different string of the same length is not taken for it: 'Ł' (U+0141)
// would come out as 'A' if it were copied as Latin-1.
describe('long ASCII text received and sent back', () => {
  const long = (seed, length) => Array.from({ length }, (_, i) => String.fromCharCode(0x20 + ((i * seed) % 95))).join('')
  const textFrame = (payload) => F.frame({ opcode: 'text', payload })

  async function readTexts (peer, count) {
    const out = []
    for (let i = 0; i < count; i++) {
      const frame = await peer.readFrame()
      expect(frame.opcode).toBe(F.OPCODES.text)
      out.push(frame.payload.toString('utf8'))
    }
    return out
  }

  test('is echoed and relayed intact, alone in a read or several in one', async () => {
    const { peer, ws } = await openRaw()
    ws.on('message', (event) => { ws.send(event.data); ws.send(String(event.data)) })
    const one = long(7, 70000)
    peer.socket.write(textFrame(one))
    expect(await readTexts(peer, 2)).toEqual([one, one])
    const several = [long(3, 5000), 'short', long(11, 4097), 'ü'.repeat(3000)]
    peer.socket.write(Buffer.concat(several.map(textFrame)))
    expect(await readTexts(peer, 8)).toEqual(several.flatMap((m) => [m, m]))
  })

  test('a different string of the same length is encoded as UTF-8', async () => {
    const { peer, ws } = await openRaw()
    const received = long(5, 9000)
    const other = 'Ł' + received.slice(1)
    ws.on('message', (event) => { ws.send(other); ws.send(event.data) })
    peer.socket.write(textFrame(received))
    expect(await readTexts(peer, 2)).toEqual([other, received])
  })

  test('the string sent after its handlers returned, and a non-ASCII one, arrive intact', async () => {
    const { peer, ws } = await openRaw()
    ws.on('message', (event) => setImmediate(() => ws.send(event.data)))
    const ascii = long(13, 20000)
    const accented = 'é' + long(13, 19999)
    peer.socket.write(Buffer.concat([textFrame(ascii), textFrame(accented)]))
    expect(await readTexts(peer, 2)).toEqual([ascii, accented])
  })
})
