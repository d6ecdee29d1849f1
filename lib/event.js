'use strict'

// The Event objects faye-websocket dispatches: a type plus the event's own fields
// (data, code, reason, message), with the DOM methods as no-ops.
class Event {
  constructor (eventType, fields) {
    this.type = eventType
    for (const key in fields) this[key] = fields[key]
  }

  initEvent (eventType, canBubble, cancelable) {
    this.type = eventType
    this.bubbles = canBubble
    this.cancelable = cancelable
  }

  stopPropagation () {}
  preventDefault () {}
}

Event.CAPTURING_PHASE = 1
Event.AT_TARGET = 2
Event.BUBBLING_PHASE = 3

module.exports = Event
