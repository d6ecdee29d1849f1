'use strict'

// Event-driven waits. Unlike events.once these never reject because some
// *other* event ('error') fired first: protocol-error tests expect 'error'
// before 'close' and must be able to await 'close' alone.
//
// Each wait carries a guard timeout so a missing event fails with a message
// naming what was awaited instead of Jest's generic test timeout. The guard
// is unref'd and cleared, so it never keeps Jest alive.

const GUARD_MS = 5000

function withGuard (promise, label, ms = GUARD_MS) {
  let timer
  const guard = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms)
    timer.unref()
  })
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer))
}

// Resolves with the first argument list of `event` (or the first argument
// when the event has exactly one) for which `filter` returns true.
function waitFor (emitter, event, { filter = () => true, ms = GUARD_MS, label } = {}) {
  let listener
  const promise = new Promise((resolve) => {
    listener = (...args) => {
      if (!filter(...args)) return
      emitter.removeListener(event, listener)
      resolve(args.length === 1 ? args[0] : args)
    }
    emitter.on(event, listener)
  })
  return withGuard(promise, label || `'${event}' event`, ms)
    .finally(() => emitter.removeListener(event, listener))
}

// A deliberate quiet period, used ONLY to give something the chance to
// happen when a test asserts that it does not (a negative assertion can
// never be event-driven). Never used to wait for something to happen.
function quietPeriod (ms = 100) {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

// Resolves with probe()'s result once it is not undefined, probing now and
// after every 'bytes' event of `reader`; rejects if reader.socket is
// destroyed first. `label` names what is awaited.
function untilBytes (reader, probe, label) {
  return withGuard(new Promise((resolve, reject) => {
    const check = () => {
      const value = probe()
      if (value !== undefined) {
        reader.removeListener('bytes', check)
        resolve(value)
      } else if (reader.socket.destroyed) {
        reader.removeListener('bytes', check)
        reject(new Error(`connection closed while waiting for ${label}`))
      }
    }
    reader.on('bytes', check)
    check()
  }), label)
}

// A promise plus its resolvers.
function deferred () {
  let resolve, reject
  const promise = new Promise((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

module.exports = { waitFor, withGuard, quietPeriod, untilBytes, deferred, GUARD_MS }
