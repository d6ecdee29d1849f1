'use strict'

// Random bytes on 1,000 concurrent connections: after a valid RFC 6455
// handshake, after a valid hixie-76 handshake, instead of a handshake, and in
// the middle of one. For a bounded time every peer writes garbage until the
// server hangs up; then whoever is left hangs up. Every connection must end
// (a close event with a code on the server socket, or the TCP connection
// closed by Node's HTTP parser), the server process must stay up, and its open
// file descriptors must return to where they were.
//
// The server runs in its own process (helpers/isolated.js), so that its file
// descriptors are counted apart from the 1,000 peers here.

const { startIsolated, pollUntil } = require('./helpers/isolated')
const { connectRaw } = require('./helpers/raw_peer')
const { connectPeer } = require('./helpers/net_server')
const H = require('./helpers/hixie')
const D = require('./helpers/deflate')
const { closeAll } = require('./helpers/cleanup')

afterEach(closeAll)

const KINDS = [
  ['hybi', 400], // a valid RFC 6455 handshake, then garbage
  ['hixie', 200], // a valid hixie-76 handshake and body, then garbage
  ['raw', 300], // garbage instead of a handshake
  ['partial', 100] // half a handshake, then garbage
]
const GARBAGE_MS = 1500
const CHUNK = 1024
// Seeded, so that a failure can be replayed.
const POOL = Array.from({ length: 256 }, (_, i) => D.randomBytes(CHUNK, 0x5eed + i))

async function openPeer (kind, port) {
  switch (kind) {
    case 'hybi': return connectRaw(port)
    case 'hixie': return H.connectDraft(port, H.draftRequest(76), { body: H.BODY })
    default: {
      const peer = await connectPeer(port, (socket) => ({ socket, destroy: () => socket.destroy() }), 'a garbage peer to connect')
      if (kind === 'partial') peer.socket.write(`GET /chat HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConn`)
      return peer
    }
  }
}

it('1,000 connections sending garbage all end, the server stays up, its fds return to baseline', async () => {
  const child = await startIsolated()
  const port = await child.listen({ backlog: 2048 })
  const baselineFds = await child.fds()

  // Open everything first, in batches (the listen backlog is finite), so that
  // all 1,000 are up at once before the first garbage byte.
  const plan = KINDS.flatMap(([kind, count]) => new Array(count).fill(kind))
  const peers = []
  for (let i = 0; i < plan.length; i += 100) {
    const batch = plan.slice(i, i + 100)
    peers.push(...await Promise.all(batch.map(async (kind) => {
      const peer = await openPeer(kind, port)
      const socket = peer.socket
      socket.on('error', () => {})
      const closed = new Promise((resolve) => {
        if (socket.destroyed) resolve()
        else socket.once('close', resolve)
      })
      return { kind, peer, socket, closed }
    })))
  }
  expect(peers).toHaveLength(1000)
  const upgraded = peers.filter((p) => p.kind === 'hybi' || p.kind === 'hixie').length
  await pollUntil(() => child.state(), (s) => s.connections.length === upgraded,
    { label: 'every valid handshake to reach the isolated server' })

  // Garbage, round after round, to every peer the server has not dropped yet.
  const deadline = Date.now() + GARBAGE_MS
  for (let round = 0; Date.now() < deadline; round++) {
    let live = 0
    peers.forEach((p, i) => {
      if (p.socket.destroyed || !p.socket.writable) return
      live += 1
      if (p.socket.writableLength < 64 * CHUNK) p.socket.write(POOL[(i + round) % POOL.length])
    })
    if (live === 0) break
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const droppedByServer = peers.filter((p) => p.socket.destroyed).length
  // Time is up: whoever is still talking hangs up.
  for (const p of peers) p.socket.destroy()
  await Promise.all(peers.map((p) => p.closed))

  // The process is up and answering, and every server socket closed exactly once.
  expect(child.alive()).toBe(true)
  const state = await pollUntil(() => child.state(), (s) => s.connections.every((c) => c.readyState === 3) && s.httpSockets === 0,
    { label: 'every server socket to close', ms: 15000 })
  expect(state.connections).toHaveLength(upgraded)
  const summary = state.connections.map((c) => ({ closes: c.closes, errorsAfterClose: c.errorsAfterClose }))
  expect(summary).toEqual(state.connections.map(() => ({ closes: 1, errorsAfterClose: 0 })))

  // RFC 6455 sockets report a numeric code; draft sockets have none (null),
  // or 1006 when the TCP connection dropped.
  for (const c of state.connections) {
    if (c.version === 'hybi-13') expect(typeof c.close.code).toBe('number')
    else expect([null, 1006]).toContain(c.close.code)
  }
  expect(state.connections.filter((c) => c.version === 'hixie-76')).toHaveLength(200)
  expect(child.constructorErrors).toEqual([])
  expect(await child.call('serverConnections')).toBe(0)
  await pollUntil(() => child.fds(), (n) => n <= baselineFds, { label: `open fds back to ${baselineFds}` })
  // Most connections are dropped by the server itself, well before the time is up.
  expect(droppedByServer).toBeGreaterThan(500)
}, 60000)
