'use strict'

const Event = require('./event')

// Browser-style event handling mixed into the socket classes: `onX` properties run
// before listeners added with on()/addEventListener().
const EventTarget = {
  onopen: null,
  onmessage: null,
  onerror: null,
  onclose: null,

  addEventListener (eventType, listener, useCapture) {
    this.on(eventType, listener)
  },

  removeEventListener (eventType, listener, useCapture) {
    this.removeListener(eventType, listener)
  },

  dispatchEvent (event) {
    event.target = event.currentTarget = this
    event.eventPhase = Event.AT_TARGET

    const handler = this['on' + event.type]
    if (handler) handler.call(this, event)

    this.emit(event.type, event)
  }
}

module.exports = EventTarget
