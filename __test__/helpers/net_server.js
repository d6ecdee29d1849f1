'use strict'

// The plumbing every test server shares: listening on 127.0.0.1 with a
// kernel-chosen port, remembering the accepted sockets, and a close() that
// destroys them and closes the server exactly once, registered for cleanup.
// Also the bare-TCP side: connecting a hand-made peer to such a server.

const net = require('net')
const { waitFor, withGuard } = require('./wait')
const { track } = require('./cleanup')

/** Adds `socket` to `sockets` until it closes. */
function trackSocket (sockets, socket) {
  sockets.add(socket)
  socket.on('close', () => sockets.delete(socket))
}

/** A Set holding every socket `server` accepts, while it is open. */
function trackSockets (server) {
  const sockets = new Set()
  server.on('connection', (socket) => trackSocket(sockets, socket))
  return sockets
}

/** Listens on 127.0.0.1, port 0; resolves with the port. */
async function listen (server) {
  server.listen(0, '127.0.0.1')
  await waitFor(server, 'listening')
  return server.address().port
}

/**
 * Returns close(): runs `before()` (synchronously), destroys every socket in
 * `sockets`, then closes each of `servers` in turn (anything with
 * close(callback): a net/http server, a ws WebSocketServer). Later calls
 * return the same promise. close() is registered with track() at `order`.
 */
function closer (servers, sockets, { before, order = 10 } = {}) {
  let closing = null
  const close = () => {
    if (!closing) {
      closing = (async () => {
        if (before) before()
        for (const socket of sockets) socket.destroy()
        for (const server of [].concat(servers)) {
          await new Promise((resolve) => server.close(() => resolve()))
        }
      })()
    }
    return closing
  }
  track(close, order)
  return close
}

/**
 * Connects to 127.0.0.1:`port`, makes the peer with `wrap(socket)` (cleanup
 * destroys it, before the servers go) and resolves with it once connected;
 * `label` names the wait.
 */
async function connectPeer (port, wrap, label) {
  const socket = net.connect(port, '127.0.0.1')
  const peer = wrap(socket)
  track(() => peer.destroy(), 0)
  await withGuard(waitFor(socket, 'connect'), label)
  return peer
}

module.exports = { trackSocket, trackSockets, listen, closer, connectPeer }
