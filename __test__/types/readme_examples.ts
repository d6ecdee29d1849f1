// The README's examples, in TypeScript. Only compiled (tsc --noEmit --strict), never run.

import WebSocket = require('faye-websocket-native')
import fs = require('fs')
import http = require('http')

// -- Handling WebSocket connections --------------------------------------------------

const server = http.createServer()

server.on('upgrade', (request, socket, body) => {
  if (WebSocket.isWebSocket(request)) {
    let ws: WebSocket | null = new WebSocket(request, socket, body)

    ws.on('message', (event) => {
      ws?.send(event.data)
    })

    ws.on('close', (event) => {
      console.log('close', event.code, event.reason)
      ws = null
    })
  }
})

server.listen(8000)

export function streams (request: http.IncomingMessage, socket: import('stream').Duplex, body: Buffer): void {
  const ws = new WebSocket(request, socket, body)
  ws.pipe(ws)

  const pinged: boolean = ws.ping('Mic check, one, two', () => {
    // fires when the pong is received
  })
  console.log(pinged)

  // -- Events ------------------------------------------------------------------------
  ws.onmessage = (event) => { console.log(event.data, event.type, event.target) }
  ws.addEventListener('message', (event) => { console.log(event.data) })
  ws.on('message', (event) => { console.log(event.data) })
  ws.onopen = () => {}
  ws.onerror = (event) => { console.log(event.message.toUpperCase()) }
  ws.onclose = (event) => { console.log(event.code + 1, event.reason.length) }
  ws.onclose = null
  const listener = (event: WebSocket.CloseEvent) => console.log(event.code)
  ws.addEventListener('close', listener)
  ws.removeEventListener('close', listener)
  ws.on('error', (event) => console.log(event.message))
  ws.once('close', () => {})
  ws.removeAllListeners('open')

  // -- Methods and properties --------------------------------------------------------
  const sent: boolean = ws.send('text') && ws.send(Buffer.from([1, 2, 3])) && ws.send(13)
  console.log(sent)
  ws.close()
  ws.close(1000)
  ws.close(4000, 'going away')
  const version: string = ws.version
  const protocol: string = ws.protocol
  const url: string = ws.url
  const state: number = ws.readyState
  const buffered: number = ws.bufferedAmount
  console.log(version, protocol, url, state === 1, buffered)

  // -- Stream API --------------------------------------------------------------------
  ws.write('data')
  ws.end()
  ws.end('last words')
  ws.pause()
  ws.resume()
  ws.pipe(process.stdout)
  ws.pipe(fs.createWriteStream('/dev/null'), { end: false })
  fs.createReadStream('/dev/null').pipe(ws)
  ws.on('data', (data) => console.log(data.length))
  ws.on('end', () => {})
  ws.on('drain', () => {})
  const flags: boolean = ws.readable && ws.writable
  console.log(flags)

  // -- Subprotocol negotiation, extensions, options ----------------------------------
  const withProtocols = new WebSocket(request, socket, body, ['irc', 'amqp'])
  console.log(withProtocols.protocol)
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const deflate = require('permessage-deflate')
  new WebSocket(request, socket, body, [], { extensions: [deflate] })
  new WebSocket(request, socket, body, [], {
    extensions: [WebSocket.deflate.configure({ maxWindowBits: 10, noContextTakeover: true })]
  })
  WebSocket.deflate.configure({
    level: 9,
    memLevel: 8,
    strategy: 0,
    noContextTakeover: false,
    maxWindowBits: 15,
    requestNoContextTakeover: true,
    requestMaxWindowBits: 12,
    zlib: require('zlib')
  })
  new WebSocket(request, socket, body, null, {
    extensions: [WebSocket.deflate],
    headers: { 'Set-Cookie': 'id=1' },
    maxLength: 1 << 20,
    ping: 30
  })
  new WebSocket(request, socket, body, 'irc, amqp')
}

// -- Using the WebSocket client --------------------------------------------------------

let client: WebSocket.Client | null = new WebSocket.Client('ws://www.example.com/')

client.on('open', (event) => {
  console.log('open', event.type)
  client?.send('Hello, world!')
})

client.on('message', (event) => {
  console.log('message', event.data)
})

client.on('close', (event) => {
  console.log('close', event.code, event.reason)
  client = null
})

const withProtocols = new WebSocket.Client('ws://www.example.com/', ['irc', 'amqp'])
withProtocols.on('open', () => {
  const status: number | undefined = withProtocols.statusCode
  const headers = withProtocols.headers
  console.log(status, headers && headers['sec-websocket-protocol'])
})

const proxied = new WebSocket.Client('wss://www.example.com/', [], {
  proxy: {
    origin: 'http://username:password@proxy.example.com',
    headers: { 'User-Agent': 'node' },
    tls: { cert: fs.readFileSync('client.crt') }
  },
  tls: { ca: fs.readFileSync('ca.pem') }
})
proxied.close()

new WebSocket.Client('ws://www.example.com/', null, {
  net: { localAddress: '10.0.0.2' },
  ca: fs.readFileSync('ca.pem'),
  headers: { Authorization: 'Bearer x' },
  extensions: [WebSocket.deflate],
  maxLength: 1024,
  ping: 10
})

// -- Handling EventSource connections ---------------------------------------------------

const EventSource = WebSocket.EventSource
const esServer = http.createServer()

esServer.on('request', (request, response) => {
  if (EventSource.isEventSource(request)) {
    let es: WebSocket.EventSource | null = new EventSource(request, response)
    console.log('open', es.url, es.lastEventId)

    // Periodically send messages
    const loop = setInterval(() => es?.send('Hello'), 1000)

    es.on('close', () => {
      clearInterval(loop)
      es = null
    })
  } else {
    // Normal HTTP request
    response.writeHead(200, { 'Content-Type': 'text/plain' })
    response.end('Hello')
  }
})

esServer.listen(8000)

export function eventSourceApi (request: http.IncomingMessage, response: http.ServerResponse): void {
  const es = new EventSource(request, response, {
    headers: { 'Access-Control-Allow-Origin': '*' },
    ping: 15,
    retry: 10
  })
  es.send('Breaking News!', { event: 'notification', id: '99' })
  const alive: boolean = es.ping()
  const state: number = es.readyState
  es.onopen = () => {}
  es.onclose = (event) => console.log(event.type)
  es.addEventListener('open', () => {})
  es.write('via the stream API')
  fs.createReadStream('/dev/null').pipe(es)
  es.end()
  const closed: boolean = es.close()
  console.log(alive, state, closed)
}
