'use strict'

// EventSource test plumbing: an HTTP server that turns requests into server-side
// EventSource objects, and a bare net.Socket reader that sees the raw byte stream
// exactly as written (head, retry line, events, pings).

const http = require('http')
const { EventEmitter } = require('events')
const { Queue } = require('./queue')
const { deferred, withGuard, untilBytes } = require('./wait')
const { trackSockets, listen, closer, connectPeer } = require('./net_server')

/**
 * Starts an HTTP server on 127.0.0.1, port 0. Every request whose path starts
 * with `/events` becomes `new EventSource(request, response, options)`; other
 * requests go to `onRequest` (default 404).
 *
 *   EventSource  constructor under test
 *   options      3rd constructor argument, or (request) => options
 *   setup        (es, request, response) => void, run synchronously after construction
 *   onRequest    (req, res) handler for other paths
 *
 * nextStream() resolves with { es, request, response, socket, log, opened, closed },
 * or rejects with the constructor's exception (the socket is then destroyed).
 */
async function startEventSourceServer ({ EventSource, options, setup, onRequest } = {}) {
  const streams = new Queue('an EventSource request on the server')
  const all = []

  const server = http.createServer((request, response) => {
    if (!request.url.startsWith('/events')) {
      if (onRequest) return onRequest(request, response)
      response.writeHead(404, { 'Content-Type': 'text/plain' })
      return response.end('not found')
    }
    let es
    try {
      es = new EventSource(request, response, typeof options === 'function' ? options(request) : options)
    } catch (error) {
      response.socket.destroy()
      streams.fail(error)
      return
    }
    const log = []
    const opened = deferred()
    const closed = deferred()
    es.on('open', () => { log.push('open'); opened.resolve() })
    es.on('close', () => { log.push('close'); closed.resolve() })
    const stream = {
      es,
      request,
      response,
      socket: response.socket,
      log,
      waitOpen: () => withGuard(opened.promise, 'the EventSource open event'),
      waitClosed: () => withGuard(closed.promise, 'the EventSource close event')
    }
    all.push(stream)
    if (setup) setup(es, request, response)
    streams.push(stream)
  })

  const sockets = trackSockets(server)
  const port = await listen(server)
  const close = closer(server, sockets, {
    // Stops ping timers before the sockets go (a destroyed socket fires no 'end').
    before: () => { for (const { es } of all) es.close() },
    order: 10
  })

  return {
    port,
    origin: `http://127.0.0.1:${port}`,
    server,
    streams: all,
    nextStream: (ms) => streams.next(ms),
    close
  }
}

/**
 * A bare TCP client that asks for an event stream and keeps every byte the
 * server writes. `headers` are added to the request (Accept: text/event-stream
 * and Host are sent unless overridden).
 */
async function openStream (port, { path = '/events', headers = {} } = {}) {
  const reader = await connectPeer(port, (socket) => new StreamReader(socket), 'the EventSource reader to connect')
  const all = Object.assign({ Host: `127.0.0.1:${port}`, Accept: 'text/event-stream' }, headers)
  const lines = [`GET ${path} HTTP/1.1`]
  for (const [name, value] of Object.entries(all)) lines.push(`${name}: ${value}`)
  reader.socket.write(lines.join('\r\n') + '\r\n\r\n')
  return reader
}

class StreamReader extends EventEmitter {
  constructor (socket) {
    super()
    this.socket = socket
    this.bytes = Buffer.alloc(0)
    this.gotEnd = false
    const closed = deferred()
    this.closed = closed.promise
    socket.on('data', (chunk) => {
      this.bytes = Buffer.concat([this.bytes, chunk])
      this.emit('bytes')
    })
    socket.on('end', () => { this.gotEnd = true })
    socket.on('error', (error) => { this.socketError = error })
    socket.on('close', () => {
      closed.resolve()
      this.emit('bytes')
    })
  }

  get text () {
    return this.bytes.toString('utf8')
  }

  // Resolves once `predicate(text)` holds for everything received so far.
  until (predicate, label) {
    return untilBytes(this, () => (predicate(this.text) ? this.text : undefined), label)
  }

  // Resolves once `piece` has been received `times` times in total.
  waitFor (piece, times = 1) {
    return this.until((text) => text.split(piece).length - 1 >= times, `${JSON.stringify(piece)} ×${times} from the server`)
  }

  waitClosed () {
    return withGuard(this.closed, 'the server to close the event stream')
  }

  destroy () {
    this.socket.destroy()
  }
}

/**
 * Runs `script(es)` on a fresh server with the given constructor and returns
 * every byte the client received until the server closed the connection.
 */
async function captureStream (EventSource, script, { options, headers, path } = {}) {
  const server = await startEventSourceServer({ EventSource, options, setup: (es) => script(es) })
  const reader = await openStream(server.port, { headers, path })
  await reader.waitClosed()
  await server.close()
  return reader.bytes
}

module.exports = { startEventSourceServer, openStream, captureStream }
