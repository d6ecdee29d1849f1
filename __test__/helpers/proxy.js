'use strict'

const http = require('http')
const https = require('https')
const net = require('net')
const { Queue } = require('./queue')
const { trackSocket, listen, closer } = require('./net_server')
const { credentials } = require('./tls')

/**
 * A real HTTP CONNECT proxy on 127.0.0.1, port 0 (RFC 7231 section 4.3.6):
 * http.createServer's 'connect' event, a net.connect() to the target, and
 * bytes piped both ways once it answered 200.
 *
 *   secure  an HTTPS proxy (https.createServer with the fixture certificate)
 *   auth    'user:password': CONNECTs without the matching
 *           Proxy-Authorization: Basic … are answered 407
 *   refuse  an HTTP status (e.g. 403) every CONNECT is answered with
 *   hold    never answer a CONNECT (the tunnel stays pending)
 *   route   (host, port) => ({ host, port }): where to really connect, so a
 *           test can use any host name (ws://example.com/) and the default
 *           ports while the tunnel reaches a local test server
 *
 * Every proxy answer other than 200 ends the connection, as proxies do.
 *
 * Returns { origin, port, server, requests, nextRequest(), close() }.
 * `requests` holds { method, url, httpVersion, headers, rawHeaders, socket }
 * for every request the proxy saw (CONNECT or not).
 */
async function startProxy ({ secure = false, auth, refuse, hold = false, route } = {}) {
  const sockets = new Set()
  const requests = []
  const arrivals = new Queue('a request at the proxy')
  const expectedAuth = auth ? 'Basic ' + Buffer.from(auth, 'utf8').toString('base64') : null

  const server = secure ? https.createServer(credentials('signed')) : http.createServer()
  server.on('tlsClientError', () => {})

  server.on('connection', (socket) => trackSocket(sockets, socket))

  const note = (req, socket) => {
    const entry = {
      method: req.method,
      url: req.url,
      httpVersion: req.httpVersion,
      headers: req.headers,
      rawHeaders: req.rawHeaders,
      socket
    }
    requests.push(entry)
    arrivals.push(entry)
  }

  // Only CONNECT is served.
  server.on('request', (req, res) => {
    note(req, req.socket)
    res.writeHead(405, { 'Content-Type': 'text/plain', Connection: 'close' })
    res.end('CONNECT only')
  })

  server.on('connect', (req, socket, head) => {
    note(req, socket)
    socket.on('error', () => {})

    const answer = (status, text, extra = '') => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\n${extra}Content-Length: 0\r\nConnection: close\r\n\r\n`)
    }
    if (hold) return
    if (refuse) return answer(refuse, http.STATUS_CODES[refuse] || 'Refused')
    if (expectedAuth && req.headers['proxy-authorization'] !== expectedAuth) {
      return answer(407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="test"\r\n')
    }

    const colon = req.url.lastIndexOf(':')
    const requested = { host: req.url.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(req.url.slice(colon + 1)) }
    const target = route ? route(requested.host, requested.port) : requested
    const upstream = net.connect(target.port, target.host)
    trackSocket(sockets, upstream)
    let connected = false
    upstream.on('error', () => {
      if (!connected) answer(502, 'Bad Gateway')
    })
    upstream.on('connect', () => {
      connected = true
      socket.write('HTTP/1.1 200 Connection Established\r\n\r\n')
      if (head && head.length) upstream.write(head)
      socket.pipe(upstream)
      upstream.pipe(socket)
    })
    socket.on('close', () => upstream.destroy())
    upstream.on('close', () => { if (connected) socket.destroy() })
  })

  const port = await listen(server)
  const close = closer(server, sockets, { order: 5 }) // after clients, before the servers behind it

  return {
    port,
    origin: `${secure ? 'https' : 'http'}://localhost:${port}`,
    server,
    requests,
    nextRequest: (ms) => arrivals.next(ms),
    close
  }
}

module.exports = { startProxy }
