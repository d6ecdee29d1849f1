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

// The 'message' event, built in one go: the same fields in the same order as
// `new Event('message', { data })` after initEvent and dispatch, with a fixed shape
// so that reading them stays fast on the hottest path.
class MessageEvent extends Event {
  constructor (data, target) {
    super('message', null)
    this.data = data
    this.bubbles = false
    this.cancelable = false
    this.target = this.currentTarget = target
    this.eventPhase = 2
  }
}

Event.MessageEvent = MessageEvent
Event.CAPTURING_PHASE = 1
Event.AT_TARGET = 2
Event.BUBBLING_PHASE = 3

module.exports = Event
