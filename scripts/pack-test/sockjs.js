'use strict'

// Runs in a project that installed sockjs and sockjs-client with
// "overrides": { "faye-websocket": <this package's tarball> }: a SockJS echo server on
// an HTTP server, and sockjs-client in Node (whose websocket transport is
// faye-websocket's Client) doing a round trip over the websocket transport only.

const http = require('http')
const { check, done, assertNativeUnder } = require('./check')

const sockjs = require('sockjs')
const SockJS = require('sockjs-client')

async function main () {
  const serverTransports = []
  const echo = sockjs.createServer({ log: () => {} })
  echo.on('connection', (conn) => {
    serverTransports.push(conn.protocol)
    conn.on('data', (message) => conn.write(message))
  })
  const server = http.createServer()
  echo.installHandlers(server, { prefix: '/echo' })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = 'http://127.0.0.1:' + server.address().port + '/echo'

  await check('sockjs-client round trip with sockjs over the websocket transport', async () => {
    const sock = new SockJS(url, null, { transports: ['websocket'] })
    const reply = await new Promise((resolve, reject) => {
      sock.onopen = () => sock.send('hello from sockjs-client')
      sock.onmessage = (event) => resolve(event.data)
      sock.onclose = (event) => reject(new Error('closed ' + event.code + ' ' + event.reason))
    })
    if (reply !== 'hello from sockjs-client') throw new Error('echo was ' + JSON.stringify(reply))
    if (sock.transport !== 'websocket') throw new Error('client transport: ' + sock.transport)
    if (serverTransports.join() !== 'websocket') throw new Error('server transports: ' + serverTransports)
    await new Promise((resolve) => {
      sock.onclose = resolve
      sock.close()
    })
  })

  await check('sockjs runs on faye-websocket-native and its prebuilt binary', () => {
    assertNativeUnder('sockjs', process.cwd())
  })

  await check('sockjs-client runs on faye-websocket-native too', () => {
    assertNativeUnder('sockjs-client', process.cwd())
  })

  server.close()
  done()
  // sockjs-client keeps a timer for its info request cache; nothing else is pending.
  setTimeout(() => process.exit(), 100).unref()
}

main()
