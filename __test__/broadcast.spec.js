'use strict'

// A server that sends one string to many connections frames it once for all of
// them whose frames are plain (a server's, with no compression or extension bits:
// lib/api.js, repeatedText). Each peer must still get the frame it would have got
// on its own: compressed where it negotiated permessage-deflate, the right text
// for an equal string that is another object, and nothing after its close frame.

const WebSocket = require('..')
const { startServer } = require('./helpers/server')
const { connectRaw } = require('./helpers/raw_peer')
const { connectClient } = require('./helpers/client')
const F = require('./helpers/frames')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const DEFLATE = { 'Sec-WebSocket-Extensions': 'permessage-deflate' }

async function openPeers (server, kinds) {
  const peers = []
  for (const kind of kinds) {
    const peer = kind === 'ws+deflate'
      ? connectClient(server.url, [], { perMessageDeflate: true })
      : await connectRaw(server.port, { headers: kind === 'raw+deflate' ? DEFLATE : {} })
    const connection = await server.nextConnection()
    await connection.waitOpen()
    if (kind === 'ws+deflate') await peer.opened
    peers.push({ kind, peer, ws: connection.ws })
  }
  return peers
}

test('every connection gets the broadcast as its own frame, compressed where negotiated', async () => {
  const server = await startServer({ WebSocket, options: { extensions: [WebSocket.deflate] } })
  const peers = await openPeers(server, ['raw', 'raw+deflate', 'raw', 'ws+deflate', 'raw'])
  const part = String(peers.length)
  // The same text as other string objects, a different text, and the first again.
  const messages = ['broadcast 5', 'broadcast ' + part, 'another message', 'broadcast 5']
  for (const message of messages) {
    for (const { ws } of peers) expect(ws.send(message)).toBe(true)
  }
  for (const { kind, peer } of peers) {
    for (const message of messages) {
      if (kind === 'ws+deflate') {
        expect((await peer.messages.next()).text).toBe(message)
        continue
      }
      const frame = await peer.readFrame()
      expect(frame.opcode).toBe(F.OPCODES.text)
      expect(frame.rsv1).toBe(kind === 'raw+deflate')
      if (kind === 'raw') expect(frame.payload.toString()).toBe(message)
    }
  }
})

test('a connection failed in the middle of a read sends its replies, then its close frame, then nothing', async () => {
  const server = await startServer({ WebSocket })
  const [first, second] = await openPeers(server, ['raw', 'raw'])
  // 'go', then a frame with a reserved opcode in the same read: the close frame
  // (1002) waits for the handler of 'go', whose send goes first.
  second.ws.on('message', () => {
    first.ws.send('hello')
    second.ws.send('hello')
  })
  first.ws.send('hello')
  expect((await first.peer.readFrame()).payload.toString()).toBe('hello')
  second.peer.write(Buffer.concat([F.frame({ opcode: 'text', payload: 'go' }), F.frame({ opcode: 3, payload: '' })]))
  expect((await first.peer.readFrame()).payload.toString()).toBe('hello')
  expect((await second.peer.readFrame()).payload.toString()).toBe('hello')
  const close = await second.peer.readFrame()
  expect(close.opcode).toBe(F.OPCODES.close)
  expect(close.payload.readUInt16BE(0)).toBe(1002)
  await second.peer.waitClosed()
  expect(second.peer.frames.map((frame) => frame.opcode)).toEqual([F.OPCODES.text, F.OPCODES.close])
})
