'use strict'

// faye past one machine: two faye server processes (faye-server.js, A and B) sharing one
// Redis through faye-redis, both running on this package. A faye client is connected to
// A over WebSocket; a Bayeux client on an EventSource (faye's browser transport: the
// stream comes down an EventSource, its own messages go up as POSTs) is connected to B.
// Messages published through one process reach both subscribers, in order, and each
// process is killed and restarted on its port while its subscriber reconnects.

const http = require('http')
const faye = require('faye')
const EventSource = require('eventsource')
const { check, done } = require('./check')
const { freePort, startNode, kill, startRedis, checkProof, waitUntil } = require('./common')

const CHANNEL = '/scale'

function request (url, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body)
    const req = http.request(url, {
      method: data === undefined ? 'GET' : 'POST',
      headers: data === undefined ? {} : { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) }
    }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => { text += chunk })
      response.on('end', () => {
        try {
          resolve(JSON.parse(text))
        } catch (error) {
          reject(new Error(response.statusCode + ' ' + text))
        }
      })
    })
    req.on('error', reject)
    req.end(data)
  })
}

function successful (replies, channel) {
  const reply = replies.find((message) => message.channel === channel)
  if (!reply || !reply.successful) throw new Error(channel + ' failed: ' + JSON.stringify(replies))
  return reply
}

// The Bayeux client on an EventSource, as faye's browser client drives that transport:
// a handshake POST, then an EventSource on <endpoint>/<clientId> for deliveries, with a
// /meta/connect POST each time the stream (re)opens. The eventsource package reconnects
// by itself after the `retry:` delay the server sent.
async function eventSourceClient (endpoint) {
  const handshake = successful(await request(endpoint, [{
    channel: '/meta/handshake', version: '1.0', supportedConnectionTypes: ['eventsource', 'long-polling']
  }]), '/meta/handshake')
  const clientId = handshake.clientId
  const received = []
  const es = new EventSource(endpoint + '/' + clientId)
  let opens = 0
  let connectError = null
  es.onopen = () => {
    opens++
    request(endpoint, [{ channel: '/meta/connect', clientId, connectionType: 'eventsource' }])
      .then((replies) => successful(replies, '/meta/connect'))
      .catch((error) => { connectError = error })
  }
  es.onerror = () => {}
  es.onmessage = (event) => {
    for (const message of JSON.parse(event.data)) {
      if (message.channel === CHANNEL) received.push(message.data)
    }
  }
  await waitUntil(() => opens > 0, 'the EventSource to open')
  successful(await request(endpoint, [{ channel: '/meta/subscribe', clientId, subscription: CHANNEL }]), '/meta/subscribe')
  return {
    clientId,
    received,
    opens: () => opens,
    connectError: () => connectError,
    publish: async (data) => successful(await request(endpoint, [{ channel: CHANNEL, clientId, data }]), CHANNEL),
    close: () => es.close()
  }
}

// Publishes `count` messages tagged `tag` (all at once, through `publish`); returns what
// was sent and where each subscriber's log stood before.
async function publishAll (publish, tag, count, subscribers) {
  const marks = subscribers.map((s) => s.received.length)
  const sent = Array.from({ length: count }, (_, i) => ({ tag, seq: i }))
  await Promise.all(sent.map((data) => publish(data)))
  return { sent, marks }
}

// Waits until `subscriber` has `sent`, in publication order, right after position `mark`.
async function expectNext (subscriber, mark, sent) {
  await waitUntil(() => subscriber.received.length >= mark + sent.length,
    `${sent.length} messages "${sent[0].tag}" at ${subscriber.name}`)
  const got = subscriber.received.slice(mark, mark + sent.length).map((m) => JSON.stringify(m))
  const want = sent.map((m) => JSON.stringify(m))
  if (got.join() !== want.join()) throw new Error(`${subscriber.name} received ${got.join(' ')}; expected ${want.join(' ')}`)
}

async function publishAndExpect (publish, tag, count, subscribers) {
  const { sent, marks } = await publishAll(publish, tag, count, subscribers)
  await Promise.all(subscribers.map((s, i) => expectNext(s, marks[i], sent)))
}

async function main () {
  const redis = await startRedis()
  const ports = { A: await freePort(), B: await freePort() }
  const servers = {}
  const start = async (name) => {
    servers[name] = await startNode('faye-server.js', { NAME: name, PORT: String(ports[name]), REDIS_PORT: String(redis.port) }, 'faye ' + name)
    return servers[name]
  }
  const endpoint = (name) => `http://127.0.0.1:${ports[name]}/bayeux`
  const status = (name) => request(`http://127.0.0.1:${ports[name]}/status`)
  let wsClient = null
  let esClient = null

  try {
    await check('two faye processes with faye-redis start on one Redis, both running on faye-websocket-native', async () => {
      await Promise.all([start('A'), start('B')])
      for (const name of ['A', 'B']) checkProof(servers[name].ready.proof)
      console.log(`# redis on ${redis.port}; A on ${ports.A} (pid ${servers.A.ready.pid}); B on ${ports.B} (pid ${servers.B.ready.pid}); ` +
        `faye-websocket is ${servers.A.ready.proof.packageDir}`)
    })

    const subscribers = []
    await check('a faye client subscribes through A over WebSocket, a Bayeux client through B over EventSource', async () => {
      const client = new faye.Client(endpoint('A'), { retry: 0.5, timeout: 10 })
      client.disable('in-process')
      const received = []
      await client.subscribe(CHANNEL, (data) => received.push(data))
      wsClient = { name: 'the WebSocket client on A', client, received, publish: (data) => client.publish(CHANNEL, data) }
      esClient = await eventSourceClient(endpoint('B'))
      esClient.name = 'the EventSource client on B'
      subscribers.push(wsClient, esClient)
    }, 20000)

    await check('messages published through A reach the subscribers on A and B, in order', async () => {
      await publishAndExpect(wsClient.publish, 'through A', 10, subscribers)
      if (wsClient.client._dispatcher.connectionType !== 'websocket') {
        throw new Error('the faye client is on ' + wsClient.client._dispatcher.connectionType)
      }
      const a = await status('A')
      const b = await status('B')
      if (!a.connectionTypes.websocket || a.upgrades < 1) throw new Error('A saw ' + JSON.stringify(a))
      if (!b.connectionTypes.eventsource || b.eventsource !== 1) throw new Error('B saw ' + JSON.stringify(b))
    })

    await check('messages published through B reach the subscribers on A and B, in order', async () => {
      await publishAndExpect(esClient.publish, 'through B', 10, subscribers)
    })

    await check('A killed and restarted on its port: its WebSocket subscriber reconnects, gets what was queued meanwhile, and keeps receiving', async () => {
      const down = new Promise((resolve) => wsClient.client.bind('transport:down', resolve))
      await kill(servers.A)
      await down
      // Published while A is down: queued in Redis for the client of A.
      const queued = await publishAll(esClient.publish, 'through B while A is down', 5, [wsClient])
      const up = new Promise((resolve) => wsClient.client.bind('transport:up', resolve))
      await start('A')
      checkProof(servers.A.ready.proof)
      await up
      await expectNext(wsClient, queued.marks[0], queued.sent)
      await publishAndExpect(esClient.publish, 'through B after A restarted', 5, subscribers)
      await publishAndExpect(wsClient.publish, 'through the restarted A', 5, subscribers)
      const a = await status('A')
      if (!a.connectionTypes.websocket) throw new Error('the restarted A saw ' + JSON.stringify(a))
      console.log(`# the faye client reconnected to the restarted A (pid ${servers.A.ready.pid}) over ${wsClient.client._dispatcher.connectionType}`)
    }, 30000)

    await check('B killed and restarted on its port: its EventSource subscriber reconnects, gets what was queued meanwhile, and keeps receiving', async () => {
      const opens = esClient.opens()
      await kill(servers.B)
      const queued = await publishAll(wsClient.publish, 'through A while B is down', 5, [esClient])
      await start('B')
      checkProof(servers.B.ready.proof)
      // The eventsource package waits for the server's `retry:` (5 s by default) first.
      await waitUntil(() => esClient.opens() > opens, 'the EventSource to reopen', 20000)
      await expectNext(esClient, queued.marks[0], queued.sent)
      await publishAndExpect(wsClient.publish, 'through A after B restarted', 5, subscribers)
      await publishAndExpect(esClient.publish, 'through the restarted B', 5, subscribers)
      if (esClient.connectError()) throw esClient.connectError()
      const b = await status('B')
      if (b.eventsource !== 1) throw new Error('the restarted B saw ' + JSON.stringify(b))
    }, 30000)
  } finally {
    if (esClient) esClient.close()
    if (wsClient) await Promise.race([wsClient.client.disconnect(), new Promise((resolve) => setTimeout(resolve, 2000))])
    for (const server of Object.values(servers)) await kill(server, 'SIGTERM')
    redis.child.kill('SIGTERM')
    await redis.exited
  }
  done()
  setTimeout(() => process.exit(), 100).unref()
}

main().catch((error) => {
  console.log('not ok - faye scale test: ' + (error && error.stack ? error.stack : error))
  process.exit(1)
})
