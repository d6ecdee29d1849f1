'use strict'

const { withGuard } = require('./wait')

// An async FIFO: producers push(), consumers `await next()`. Items pushed
// before anyone waits are kept, so nothing is lost to a late listener.
class Queue {
  constructor (label = 'queue item') {
    this._items = []
    this._waiters = []
    this._label = label
    this.all = [] // every item ever pushed, for whole-history assertions
  }

  push (item) {
    this.all.push(item)
    const waiter = this._waiters.shift()
    if (waiter) waiter.resolve(item)
    else this._items.push(item)
  }

  // Rejects the next waiter (or the next next()) with `error`.
  fail (error) {
    const waiter = this._waiters.shift()
    if (waiter) waiter.reject(error)
    else this._items.push({ __queueError: error })
  }

  next (ms) {
    if (this._items.length) {
      const item = this._items.shift()
      return item && item.__queueError ? Promise.reject(item.__queueError) : Promise.resolve(item)
    }
    let waiter
    const promise = new Promise((resolve, reject) => {
      waiter = { resolve, reject }
      this._waiters.push(waiter)
    })
    return withGuard(promise, this._label, ms).catch((error) => {
      // a timed-out waiter must not swallow a later item
      const index = this._waiters.indexOf(waiter)
      if (index >= 0) this._waiters.splice(index, 1)
      throw error
    })
  }

  get size () {
    return this._items.length
  }
}

module.exports = { Queue }
