'use strict'

// Long ASCII text (128 KiB and more) reaches JavaScript as an external string over
// the received bytes, with a Buffer over the same bytes, and a server sends such a
// string on as a frame header followed by those bytes (src/binding/shared_text.rs).
// These tests check what a peer sees of that, what a client does with it, and that
// the memory it takes is seen and released by the garbage collector.

const path = require('path')
const { fork } = require('child_process')
const { Worker } = require('worker_threads')
const WebSocket = require('..')
const { startServer, openWithWsClient } = require('./helpers/server')
const { connectClient } = require('./helpers/client')
const { openClient } = require('./helpers/client_socket')
const { startWsServer } = require('./helpers/ws_server')
const { withGuard, deferred } = require('./helpers/wait')
const { track, closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const KiB = 1024
const FIXTURE = path.join(__dirname, 'fixtures', 'echo_process.js')

// Printable ASCII that differs from one message to the next.
const ascii = (seed, length) => {
  const bytes = Buffer.allocUnsafe(length)
  for (let i = 0; i < length; i++) bytes[i] = 0x20 + ((i * seed + (i >> 7)) % 95)
  return bytes.toString('latin1')
}

async function nextText (client) {
  const message = await client.messages.next()
  expect(message.isBinary).toBe(false)
  return message.text
}

test('a long ASCII message is echoed and relayed byte for byte', async () => {
  const server = await startServer({ WebSocket })
  const peers = []
  const clients = []
  for (let i = 0; i < 3; i++) {
    clients.push(connectClient(server.url))
    const connection = await server.nextConnection()
    await connection.waitOpen()
    await clients[i].opened
    peers.push(connection.ws)
  }
  // The first connection's messages go back to it and on to the two others.
  peers[0].on('message', (event) => { for (const peer of peers) peer.send(event.data) })
  for (const message of [ascii(7, 200 * KiB), ascii(3, 128 * KiB), 'é' + ascii(5, 200 * KiB), ascii(11, 1024 * KiB)]) {
    clients[0].ws.send(message)
    for (const client of clients) expect(await nextText(client)).toBe(message)
  }
})

test('a long ASCII message sent after its handlers, or with other text in one read, arrives intact', async () => {
  const { client, connection } = await openWithWsClient({ WebSocket })
  const saved = []
  connection.ws.on('message', (event) => {
    saved.push(event.data)
    if (saved.length === 3) setImmediate(() => { for (const text of saved) connection.ws.send(text) })
  })
  const messages = [ascii(13, 300 * KiB), 'short', ascii(17, 150 * KiB)]
  for (const message of messages) client.ws.send(message)
  for (const message of messages) expect(await nextText(client)).toBe(message)
})

test('compressed, a long ASCII message is echoed through the compressor', async () => {
  const { client, connection } = await openWithWsClient({
    WebSocket,
    options: { extensions: [WebSocket.deflate] },
    client: [[], { perMessageDeflate: true }]
  })
  expect((await client.upgrade).headers['sec-websocket-extensions']).toMatch(/permessage-deflate/)
  connection.ws.on('message', (event) => connection.ws.send(event.data))
  const message = ascii(19, 400 * KiB)
  client.ws.send(message)
  expect(await nextText(client)).toBe(message)
})

test('the client receives a long ASCII message and sends it back intact', async () => {
  const message = ascii(23, 256 * KiB)
  const server = await startWsServer()
  const client = openClient(server.url)
  const peer = await server.nextConnection()
  await client.waitOpen()
  client.ws.on('message', (event) => client.ws.send(event.data))
  peer.ws.send(message)
  const echoed = await peer.messages.next()
  expect(echoed.text).toBe(message)
  expect(await client.messages.next()).toBe(message)
})

// Without telling V8 about the shared bytes, nothing made it collect the strings and
// Buffers holding them: a 1 MiB echo server grew by the size of every message
// (measured: 1 GiB after 3 s).
// The fixture as a child process with `env` added to this one's; `ask()` waits for its
// next report (the first: { port, sharesLongText }), `ask(request)` sends one first.
function forkEcho (env = {}) {
  const child = fork(FIXTURE, [], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] })
  track(() => { if (child.exitCode === null) child.kill() }, 10)
  return (request) => withGuard(new Promise((resolve) => {
    child.once('message', resolve)
    if (request) child.send(request)
  }), 'the echo process to answer ' + (request || 'with its port'))
}

test('the memory of shared messages is collected as the server goes on', async () => {
  const ask = forkEcho()
  const { port } = await ask()
  const client = connectClient(`ws://127.0.0.1:${port}/`)
  await client.opened
  const message = ascii(29, 1024 * KiB)
  const rss = []
  for (let i = 0; i < 300; i++) {
    client.ws.send(message)
    expect((await client.messages.next()).data.length).toBe(message.length)
    if (i % 50 === 49) rss.push((await ask('memory')).rss)
  }
  // 300 MiB went through; what stays is bounded by the collector's threshold for
  // external memory (64 MiB in V8), not by the traffic (measured: 28 MiB, and 250
  // MiB without).
  const growth = Math.max(...rss) - rss[0]
  expect(growth).toBeLessThan(100 * 1024 * KiB)
})

// Node before 20.4 has no external strings, and the environment can opt out: long
// text is then copied, as shorter text always is. The opt-out makes that path testable
// on any Node; the process reports which path it took.
test.each([
  ['shared', {}, true],
  ['copied when the environment opts out', { FAYE_WEBSOCKET_NATIVE_NO_EXTERNAL_STRINGS: '1' }, false]
])('long ASCII text %s echoes byte for byte', async (_, env, shares) => {
  const started = await forkEcho(env)()
  // External strings came with Node 20.4; older lines may have had them backported.
  const [major, minor] = process.versions.node.split('.').map(Number)
  if (!shares) expect(started.sharesLongText).toBe(false)
  else if (major > 20 || (major === 20 && minor >= 4)) expect(started.sharesLongText).toBe(true)
  const client = connectClient(`ws://127.0.0.1:${started.port}/`)
  await client.opened
  for (const message of [ascii(37, 128 * KiB), 'é' + ascii(41, 300 * KiB), ascii(43, 1024 * KiB)]) {
    client.ws.send(message)
    expect(await nextText(client)).toBe(message)
  }
})

test('a worker thread terminated while holding shared messages leaves the process running', async () => {
  for (let round = 0; round < 3; round++) {
    const worker = new Worker(FIXTURE)
    track(() => worker.terminate(), 10)
    const { port } = await withGuard(new Promise((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    }), 'the echo thread to listen')
    const client = connectClient(`ws://127.0.0.1:${port}/`)
    await client.opened
    const message = ascii(31 + round, 512 * KiB)
    for (let i = 0; i < 4; i++) {
      client.ws.send(message)
      expect((await client.messages.next()).text).toBe(message)
    }
    const exited = deferred()
    worker.once('exit', (code) => exited.resolve(code))
    await worker.terminate()
    expect(await withGuard(exited.promise, 'the echo thread to exit')).toBe(1)
  }
})
