'use strict'

// sockjs past one process: two sockjs echo processes (sockjs-server.js, A and B) on
// their own ports, behind a sticky TCP balancer that works as nginx's `ip_hash` with
// `proxy_next_upstream error` does: every connection from one client address goes to
// the same backend while it is up, and to the next one when it refuses. A sockjs-client
// (whose websocket transport is faye-websocket's Client, so this package on both ends)
// talks to A through the balancer; A is killed; the client reconnects to the same URL,
// lands on B, and round-trips again.

const net = require('net')
const SockJS = require('sockjs-client')
const { check, done } = require('./check')
const { freePort, startNode, kill, checkProof } = require('./common')

// Sticky by client address, with failover: the hash of the address picks the first
// backend to try; a refused connection moves on to the next one.
function stickyBalancer (backends) {
  const routed = []
  const server = net.createServer((client) => {
    const hash = [...client.remoteAddress].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
    const tryBackend = (attempt) => {
      if (attempt === backends.length) return client.destroy()
      const backend = backends[(hash + attempt) % backends.length]
      const upstream = net.connect(backend.port, '127.0.0.1')
      upstream.once('error', () => tryBackend(attempt + 1))
      upstream.once('connect', () => {
        upstream.removeAllListeners('error')
        routed.push(backend.name)
        client.pipe(upstream).pipe(client)
        upstream.on('error', () => client.destroy())
        client.on('error', () => upstream.destroy())
        upstream.on('close', () => client.destroy())
        client.on('close', () => upstream.destroy())
      })
    }
    client.pause()
    tryBackend(0)
  })
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, port: server.address().port, routed })))
}

function open (url, transports) {
  const sock = new SockJS(url, null, { transports })
  const received = []
  let waiter = null
  sock.onmessage = (event) => {
    received.push(event.data)
    if (waiter) waiter()
  }
  const opened = new Promise((resolve, reject) => {
    sock.onopen = resolve
    sock.onclose = (event) => reject(new Error(`closed before open: ${event.code} ${event.reason}`))
  })
  return {
    sock,
    opened,
    // Sends `messages` and resolves with the next that many replies.
    async roundTrip (messages) {
      const mark = received.length
      const replies = new Promise((resolve) => {
        waiter = () => { if (received.length >= mark + messages.length) resolve(received.slice(mark, mark + messages.length)) }
      })
      for (const message of messages) sock.send(message)
      return replies
    },
    closed: () => new Promise((resolve) => { sock.onclose = resolve })
  }
}

async function expectEchoes (conn, name, tag) {
  const messages = Array.from({ length: 5 }, (_, i) => `${tag} ${i}`)
  const replies = await conn.roundTrip(messages)
  const want = messages.map((m) => `${name}:${m}`)
  if (replies.join('|') !== want.join('|')) throw new Error(`replies ${JSON.stringify(replies)}, expected ${JSON.stringify(want)}`)
}

async function main () {
  const servers = {}
  for (const name of ['A', 'B']) {
    servers[name] = await startNode('sockjs-server.js', { NAME: name, PORT: String(await freePort()) }, 'sockjs ' + name)
  }
  // Listed so that 127.0.0.1's hash picks A first.
  const hash = [...'127.0.0.1'].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
  const backends = hash % 2 === 0
    ? [{ name: 'A', port: servers.A.ready.port }, { name: 'B', port: servers.B.ready.port }]
    : [{ name: 'B', port: servers.B.ready.port }, { name: 'A', port: servers.A.ready.port }]
  const balancer = await stickyBalancer(backends)
  const url = `http://127.0.0.1:${balancer.port}/echo`

  try {
    await check('two sockjs processes run on faye-websocket-native', () => {
      for (const name of ['A', 'B']) checkProof(servers[name].ready.proof)
    })

    let conn
    await check('sockjs-client round-trips with A through the sticky balancer over the websocket transport', async () => {
      conn = open(url, ['websocket'])
      await conn.opened
      if (conn.sock.transport !== 'websocket') throw new Error('transport ' + conn.sock.transport)
      await expectEchoes(conn, 'A', 'first')
    })

    await check('a session over a multi-request transport (xhr-streaming) stays on one process', async () => {
      const streaming = open(url, ['xhr-streaming'])
      await streaming.opened
      if (streaming.sock.transport !== 'xhr-streaming') throw new Error('transport ' + streaming.sock.transport)
      await expectEchoes(streaming, 'A', 'streaming')
      const closed = streaming.closed()
      streaming.sock.close()
      await closed
    })

    await check('A killed: the client sees the close, reconnects to the same URL, lands on B and round-trips', async () => {
      const closed = conn.closed()
      const routedBefore = balancer.routed.length
      await kill(servers.A)
      const event = await closed
      console.log(`# the client saw close ${event.code} ${event.reason}`)
      conn = open(url, ['websocket'])
      await conn.opened
      await expectEchoes(conn, 'B', 'after failover')
      const before = balancer.routed.slice(0, routedBefore)
      const after = balancer.routed.slice(routedBefore)
      if (before.some((name) => name !== 'A') || !after.length || after.some((name) => name !== 'B')) {
        throw new Error(`the balancer routed ${before} before A went, ${after} after`)
      }
    })

    await check('a client connecting to B directly round-trips too', async () => {
      const direct = open(`http://127.0.0.1:${servers.B.ready.port}/echo`, ['websocket'])
      await direct.opened
      await expectEchoes(direct, 'B', 'direct')
      const closed = direct.closed()
      direct.sock.close()
      await closed
      const last = conn.closed()
      conn.sock.close()
      await last
    })
  } finally {
    balancer.server.close()
    for (const server of Object.values(servers)) if (server.child.exitCode === null && server.child.signalCode === null) await kill(server, 'SIGTERM')
  }
  done()
  // sockjs-client keeps a timer for its info request cache; nothing else is pending.
  setTimeout(() => process.exit(), 100).unref()
}

main().catch((error) => {
  console.log('not ok - sockjs scale test: ' + (error && error.stack ? error.stack : error))
  process.exit(1)
})
