'use strict'

// The parent side of fixtures/isolated_child.js: a child node process (run with
// --expose-gc) that holds the WebSocket under test, so that its memory and its
// file descriptors can be measured apart from the Jest worker and from the
// peers attacking it, which stay here and use the usual raw-peer helpers.
//
//   const child = await startIsolated()
//   const port = await child.listen({ options: { maxLength: 1024 } })
//   ... connect a raw peer to port ...
//   const conn = await child.nextConnection()   // { id, events, closed, ... }
//   await child.resetPeak(); ...; const mem = await child.memory()

const path = require('path')
const { fork } = require('child_process')
const { EventEmitter } = require('events')
const { Queue } = require('./queue')
const { deferred, withGuard } = require('./wait')
const { track } = require('./cleanup')

const CHILD = path.join(__dirname, '..', 'fixtures', 'isolated_child.js')

const KiB = 1024
const MiB = 1024 * KiB

class IsolatedConnection {
  constructor (id, role) {
    this.id = id
    this.role = role
    this.log = []
    this.messages = new Queue(`a message on isolated connection ${id}`)
    this._opened = deferred()
    this._closed = deferred()
    this._opened.promise.catch(() => {})
    this.opened = this._opened.promise
    this.closed = this._closed.promise
  }

  _event (event) {
    this.log.push(event)
    if (event.name === 'open') this._opened.resolve()
    if (event.name === 'message') this.messages.push(event)
    if (event.name === 'close') this._closed.resolve(event)
    if (event.name === 'drain') {
      const waiters = this._drainWaiters || []
      this._drainWaiters = []
      for (const resolve of waiters) resolve()
    }
  }

  /** Resolves at the next 'drain' event (or the first one, if none was awaited yet). */
  nextDrain (ms) {
    return withGuard(new Promise((resolve) => {
      this._drainWaiters = (this._drainWaiters || []).concat(resolve)
    }), `a 'drain' event on isolated connection ${this.id}`, ms)
  }

  waitOpen (ms) {
    return withGuard(this.opened, `isolated connection ${this.id} to open`, ms)
  }

  waitClosed (ms) {
    return withGuard(this.closed, `isolated connection ${this.id} to close`, ms)
  }

  // 'open', 'message:<length>', 'error:<message>', 'close:<code>:<reason>'
  // ('drain' left out: how often it fires depends on the kernel's buffers).
  sequence () {
    return this.log.filter((e) => e.name !== 'drain').map((e) => {
      switch (e.name) {
        case 'message': return `message:${e.length}`
        case 'error': return `error:${e.message}`
        case 'close': return `close:${e.code}:${e.reason}`
        default: return e.name
      }
    })
  }
}

async function startIsolated ({ execArgv = ['--expose-gc'] } = {}) {
  // glibc keeps freed chunks below its mmap threshold for reuse, and raises that
  // threshold as large chunks come and go: a process that read tens of MiB of
  // socket data in 64 KiB buffers then shows that much RSS long after freeing
  // them. A fixed threshold of 64 KiB returns such buffers to the kernel when
  // they are freed, so RSS after a GC is what is still held.
  const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '65536' }
  const child = fork(CHILD, [], { execArgv, env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  const events = new EventEmitter()
  const pending = new Map()
  const connections = new Map()
  const newConnections = new Queue('a connection in the isolated process')
  const constructorErrors = []
  let seq = 0
  const exited = deferred()
  const ready = deferred()

  child.on('message', (message) => {
    switch (message.type) {
      case 'ready': ready.resolve(message); break
      case 'reply': {
        const waiter = pending.get(message.seq)
        pending.delete(message.seq)
        if (message.error) waiter.reject(new Error(`isolated process: ${message.error}`))
        else waiter.resolve(message.result)
        break
      }
      case 'connection': {
        const connection = new IsolatedConnection(message.id, message.role)
        connections.set(message.id, connection)
        if (message.role === 'server') newConnections.push(connection)
        break
      }
      case 'event': connections.get(message.id)._event(message); events.emit('event', message); break
      case 'constructor-error': constructorErrors.push(message.message); break
    }
  })
  child.on('exit', (code, signal) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`isolated process exited (${code}, ${signal})`))
    pending.clear()
    ready.reject(new Error(`isolated process exited before it was ready (${code}, ${signal})`))
    exited.resolve({ code, signal })
  })
  ready.promise.catch(() => {})

  const alive = () => child.exitCode === null && child.signalCode === null

  const call = (command, args = {}, ms = 10000) => {
    if (!alive()) return Promise.reject(new Error('isolated process is not running'))
    const id = ++seq
    const reply = deferred()
    pending.set(id, reply)
    child.send({ seq: id, command, args })
    return withGuard(reply.promise, `the isolated process to answer ${command}`, ms)
  }

  const stop = async () => {
    if (alive()) {
      child.disconnect()
      await withGuard(exited.promise, 'the isolated process to exit').catch(() => child.kill('SIGKILL'))
    }
  }
  track(stop, 20) // after peers (0) and servers (10)

  const info = await withGuard(ready.promise, 'the isolated process to start', 10000)

  return {
    process: child,
    gcExposed: info.gc,
    events,
    connections,
    constructorErrors,
    exited: exited.promise,
    alive,
    call,
    stop,
    listen: (args) => call('listen', args),
    /** A WebSocket.Client in the child; resolves with its IsolatedConnection. */
    async client (args) {
      const id = await call('client', args)
      return connections.get(id)
    },
    nextConnection: (ms) => newConnections.next(ms),
    /** RSS after a GC, and the peak RSS since resetPeak(), in bytes. */
    memory: () => call('memory'),
    /**
     * Collects garbage, resets the peak and returns the memory to compare with.
     * `gcEvery` (ms): keep collecting from now on (see the child).
     */
    resetPeak: (args) => call('resetPeak', args),
    fds: () => call('fds'),
    state: () => call('state'),
    invoke: (id, method, ...args) => call('call', { id, method, args })
  }
}

/**
 * Polls `probe` (async) until `accept(value)` holds, every `every` ms, failing
 * with the last value after `ms`. For states that no event announces (a count
 * of file descriptors, memory returning to a level).
 */
async function pollUntil (probe, accept, { ms = 10000, every = 50, label = 'a condition' } = {}) {
  const deadline = Date.now() + ms
  let value
  for (;;) {
    value = await probe()
    if (accept(value)) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${label}; last value ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, every))
  }
}

module.exports = { startIsolated, pollUntil, KiB, MiB }
