'use strict'

// A real browser as the peer: headless Chromium (Debian's `chromium`, driven by
// playwright-core) talks to this package's server over loopback. WebSocket
// echo of text, binary and 4 MiB messages, subprotocols, the `ping` option,
// close codes both ways, EventSource with retry and Last-Event-ID, and CORS
// through the EventSource `headers` option. Skipped only when
// /usr/bin/chromium is missing (install it with scripts/install-browser.sh).

const http = require('http')
const { WebSocket } = require('./helpers/impl')
const { startServer } = require('./helpers/server')
const { startEventSourceServer } = require('./helpers/sse')
const { FrameParser, OPCODES } = require('./helpers/frames')
const { waitFor, withGuard, deferred } = require('./helpers/wait')
const { track, closeAll } = require('./helpers/cleanup')
const { CHROMIUM, haveChromium, launchBrowser, servePage } = require('./helpers/browser')

const EventSource = WebSocket.EventSource
const suite = haveChromium() ? describe : describe.skip
if (!haveChromium()) {
  console.warn(`browser.spec.js skipped: ${CHROMIUM} is missing (install it with: bash scripts/install-browser.sh)`)
}

suite(`with headless Chromium (${CHROMIUM})`, () => {
  let browser
  let context
  let page

  beforeAll(async () => {
    browser = await launchBrowser()
  }, 30000)

  afterAll(async () => {
    if (browser) await browser.close()
  })

  beforeEach(async () => {
    context = await browser.newContext()
    page = await context.newPage()
  })

  // The browser's connections go first, then the servers.
  afterEach(async () => {
    await context.close()
    await closeAll()
  })

  // A server whose plain HTTP requests get the test page, and a page loaded from it.
  async function serverAndPage (serverOptions = {}) {
    const server = await startServer({ onRequest: servePage, ...serverOptions })
    await page.goto(`http://127.0.0.1:${server.port}/`)
    return server
  }

  describe('WebSocket', () => {
    it('echoes text: emoji, CJK and astral characters', async () => {
      const server = await serverAndPage({ setup: (ws) => ws.on('message', (event) => ws.send(event.data)) })
      const texts = ['hello', '😀🎉👍🏽👨‍👩‍👧', '中文字符 日本語 한국어', '𝄞 𝌆 𠀀 𝔘𝔫𝔦', 'mixed é ✓ 😀 \u0000 end', '']
      const echoed = await page.evaluate(async ({ url, texts }) => {
        const ws = await openSocket(url)
        const received = nextMessages(ws, texts.length)
        for (const text of texts) ws.send(text)
        return received
      }, { url: server.url, texts })
      expect(echoed).toEqual(texts)
      const connection = server.connections[0]
      expect(connection.messages.all).toEqual(texts)
    })

    it('echoes binary: all 256 byte values as an ArrayBuffer', async () => {
      const server = await serverAndPage({ setup: (ws) => ws.on('message', (event) => ws.send(event.data)) })
      const result = await page.evaluate(async (url) => {
        const ws = await openSocket(url)
        const received = nextMessages(ws, 1)
        ws.send(Uint8Array.from({ length: 256 }, (_, i) => i).buffer)
        const [data] = await received
        return { isArrayBuffer: data instanceof ArrayBuffer, bytes: Array.from(new Uint8Array(data)) }
      }, server.url)
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
      const [seen] = server.connections[0].messages.all
      expect(Buffer.isBuffer(seen)).toBe(true)
      expect(seen).toEqual(all)
      expect(result.isArrayBuffer).toBe(true)
      expect(Buffer.from(result.bytes)).toEqual(all)
    })

    it('echoes a 4 MiB binary message and a 4 MiB (UTF-8) text message', async () => {
      const SIZE = 4 * 1024 * 1024
      const server = await serverAndPage({ setup: (ws) => ws.on('message', (event) => ws.send(event.data)) })
      const result = await page.evaluate(async ({ url, SIZE }) => {
        const ws = await openSocket(url)
        const bytes = Uint8Array.from({ length: SIZE }, (_, i) => (i * 31 + (i >> 12)) & 0xff)
        const text = 'ab✓😀中cdef'.repeat(SIZE / 16) // 16 UTF-8 bytes a unit
        const received = nextMessages(ws, 2)
        ws.send(bytes.buffer)
        ws.send(text)
        const [binary, echoedText] = await received
        const back = new Uint8Array(binary)
        return {
          binaryLength: back.length,
          binaryEqual: back.length === bytes.length && back.every((b, i) => b === bytes[i]),
          textLength: echoedText.length,
          textEqual: echoedText === text
        }
      }, { url: server.url, SIZE })
      expect(result).toEqual({ binaryLength: SIZE, binaryEqual: true, textLength: SIZE / 16 * 10, textEqual: true })
      const [binary, text] = server.connections[0].messages.all
      const expected = Buffer.alloc(SIZE)
      for (let i = 0; i < SIZE; i++) expected[i] = (i * 31 + (i >> 12)) & 0xff
      expect(binary.equals(expected)).toBe(true)
      expect(Buffer.byteLength(text)).toBe(SIZE)
      expect(text).toBe('ab✓😀中cdef'.repeat(SIZE / 16))
    })

    it("picks the browser's first subprotocol that the server supports", async () => {
      const server = await serverAndPage({ protocols: ['chat', 'superchat'] })
      const protocol = await page.evaluate(async (url) => (await openSocket(url, ['superchat', 'chat'])).protocol, server.url)
      expect(protocol).toBe('superchat')
      const connection = await server.nextConnection()
      await connection.waitOpen()
      expect(connection.ws.protocol).toBe('superchat')
    })

    it('answers without a subprotocol when none matches, and the browser fails the connection', async () => {
      const server = await serverAndPage({ protocols: ['chat'] })
      const outcome = await page.evaluate((url) => within(5000, 'the failed connection', new Promise((resolve) => {
        const ws = new WebSocket(url, ['other'])
        const events = []
        ws.onopen = () => events.push('open')
        ws.onerror = () => events.push('error')
        ws.onclose = (event) => resolve({ events, code: event.code })
      })), server.url)
      expect(outcome).toEqual({ events: ['error'], code: 1006 })
      const connection = await server.nextConnection()
      expect(connection.ws.protocol).toBe('')
    })

    it("the ping option's pings are answered with pongs by the browser, and ping(msg, callback) calls back", async () => {
      const server = await serverAndPage({ options: { ping: 0.05 } })
      await page.evaluate(async (url) => { window.socket = await openSocket(url) }, server.url)
      const connection = await server.nextConnection()
      await connection.waitOpen()

      // What the browser sends, read off the server's socket: first, and copied,
      // because websocket-driver (the faye reference run) unmasks chunks in place.
      const parser = new FrameParser()
      const pongs = []
      const gotPongs = deferred()
      connection.socket.prependListener('data', (chunk) => {
        for (const frame of parser.push(Buffer.from(chunk))) {
          if (frame.opcode !== OPCODES.pong) continue
          expect(frame.masked).toBe(true)
          pongs.push(frame.payload.toString())
          if (pongs.length >= 3) gotPongs.resolve()
        }
      })
      await withGuard(gotPongs.promise, 'three pongs from the browser')
      // Consecutive ids, as the ping option numbers them.
      const first = Number(pongs[0])
      expect(pongs.slice(0, 3)).toEqual([String(first), String(first + 1), String(first + 2)])

      const answered = deferred()
      expect(connection.ws.ping('hello browser', () => answered.resolve())).toBe(true)
      await withGuard(answered.promise, 'the ping callback')
    })

    it('browser close(4001, "bye") reaches the server as code 4001, reason "bye"', async () => {
      const server = await serverAndPage()
      const browserSide = await page.evaluate(async (url) => {
        const ws = await openSocket(url)
        const done = whenClosed(ws)
        ws.close(4001, 'bye')
        return done
      }, server.url)
      const connection = await server.nextConnection()
      const event = await connection.waitClosed()
      expect([event.code, event.reason]).toEqual([4001, 'bye'])
      expect(connection.sequence()).toEqual(['open', 'end', 'close:4001:bye'])
      expect(browserSide).toEqual({ code: 4001, reason: 'bye', wasClean: true })
    })

    it('server close(4002, "later") reaches the browser as code 4002, reason "later", cleanly', async () => {
      const server = await serverAndPage({ setup: (ws) => ws.on('message', () => ws.close(4002, 'later')) })
      const browserSide = await page.evaluate(async (url) => {
        const ws = await openSocket(url)
        const done = whenClosed(ws)
        ws.send('close please')
        return done
      }, server.url)
      expect(browserSide).toEqual({ code: 4002, reason: 'later', wasClean: true })
      const connection = await server.nextConnection()
      const event = await connection.waitClosed()
      expect([event.code, event.reason]).toEqual([4002, 'later'])
    })
  })

  describe('EventSource', () => {
    it('delivers events with their type and id, reconnects after `retry`, and the server sees Last-Event-ID', async () => {
      const RETRY_MS = 400
      let closedAt = 0
      const server = await startEventSourceServer({
        EventSource,
        options: { retry: RETRY_MS / 1000 },
        onRequest: servePage,
        setup: (es) => es.on('open', () => {
          if (es.lastEventId) return es.send(`resumed after ${es.lastEventId}`, { id: '3' })
          es.send('plain')
          es.send('news ✓', { event: 'update', id: '1' })
          es.send('line 1\nline 2', { id: '2' })
          setTimeout(() => { closedAt = Date.now(); es.close() }, 100)
        })
      })
      await page.goto(`${server.origin}/`)
      const received = page.evaluate(() => within(10000, 'the resumed message', new Promise((resolve) => {
        const source = new EventSource('/events')
        const events = []
        const record = (event) => {
          events.push({ type: event.type, data: event.data, lastEventId: event.lastEventId })
          if (event.data.startsWith('resumed')) {
            source.close()
            resolve(events)
          }
        }
        source.onmessage = record
        source.addEventListener('update', record)
      })))

      const first = await server.nextStream()
      expect(first.request.headers['last-event-id']).toBeUndefined()
      const second = await server.nextStream(5000)
      const delay = Date.now() - closedAt
      expect(second.request.headers['last-event-id']).toBe('2')
      expect(second.es.lastEventId).toBe('2')
      // Honoured: after the retry delay, well before Chromium's own 3 s default.
      expect(delay).toBeGreaterThanOrEqual(RETRY_MS - 20)
      expect(delay).toBeLessThan(2500)

      expect(await received).toEqual([
        { type: 'message', data: 'plain', lastEventId: '' },
        { type: 'update', data: 'news ✓', lastEventId: '1' },
        { type: 'message', data: 'line 1\nline 2', lastEventId: '2' },
        { type: 'message', data: 'resumed after 2', lastEventId: '3' }
      ])
    })

    it('the headers option lets a page from another origin read the stream (CORS)', async () => {
      let pageOrigin
      const server = await startEventSourceServer({
        EventSource,
        options: (request) => request.url.includes('allow')
          ? { headers: { 'Access-Control-Allow-Origin': pageOrigin } }
          : {},
        setup: (es) => es.on('open', () => es.send('cross-origin hello', { id: 'c1' }))
      })

      // The page comes from a second server, on another port: another origin.
      const pageServer = http.createServer(servePage)
      pageServer.listen(0, '127.0.0.1')
      await waitFor(pageServer, 'listening')
      track(() => new Promise((resolve) => { pageServer.closeAllConnections(); pageServer.close(resolve) }), 10)
      pageOrigin = `http://127.0.0.1:${pageServer.address().port}`
      await page.goto(`${pageOrigin}/`)

      const outcomes = await page.evaluate(async (origin) => {
        const attempt = (path) => within(5000, 'an event from ' + path, new Promise((resolve) => {
          const source = new EventSource(origin + path)
          source.onmessage = (event) => { source.close(); resolve({ data: event.data, lastEventId: event.lastEventId }) }
          source.onerror = () => {
            // A CORS failure is fatal: the browser gives up (CLOSED), no reconnect.
            if (source.readyState === EventSource.CLOSED) resolve({ error: true })
          }
        }))
        return { allowed: await attempt('/events?allow'), refused: await attempt('/events?deny') }
      }, server.origin)

      expect(outcomes).toEqual({
        allowed: { data: 'cross-origin hello', lastEventId: 'c1' },
        refused: { error: true }
      })
      const [allowed, refused] = [await server.nextStream(), await server.nextStream()]
      expect(allowed.request.headers.origin).toBe(pageOrigin)
      expect(refused.request.headers.origin).toBe(pageOrigin)
    })
  })
})
