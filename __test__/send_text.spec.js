'use strict'

// A sent string is encoded by V8 straight into its frame, after a header sized for
// its UTF-8 length. Every length where the header's size changes, and every kind of
// character, arrives intact at a `ws` peer, from the server and from the client
// (whose frames are masked).

const WebSocket = require('..')
const { startServer } = require('./helpers/server')
const { connectClient } = require('./helpers/client')
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
  const server = await startServer({ WebSocket })
  const client = connectClient(server.url)
  const connection = await server.nextConnection()
  await connection.waitOpen()
  await client.opened
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
