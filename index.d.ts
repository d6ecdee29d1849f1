// Types for faye-websocket-native: the faye-websocket API.

/// <reference types="node" />

import { IncomingMessage, ServerResponse } from 'http'
import { Duplex, Stream } from 'stream'
import { ConnectionOptions as TlsConnectionOptions } from 'tls'
import { NetConnectOpts } from 'net'

declare namespace WebSocket {
  /** A websocket-extensions compatible extension, such as `require('permessage-deflate')`. */
  interface Extension {
    name: string
    type: string
    rsv1: boolean
    rsv2: boolean
    rsv3: boolean
    [key: string]: any
  }

  /** Options of both the server-side socket and the client. */
  interface CommonOptions {
    /** websocket-extensions compatible extensions. */
    extensions?: Extension[]
    /** Extra HTTP headers for the handshake. Values containing CR, LF or NUL are refused. */
    headers?: { [name: string]: string | number }
    /** The largest message accepted, in bytes. Default 2^26 - 1. */
    maxLength?: number
    /** Seconds between pings sent automatically. */
    ping?: number
  }

  /**
   * Options of the server-side socket. `proxy`, `tls` and `ca` are the client's; as in
   * faye-websocket the server accepts and ignores them, so one options object can serve both.
   */
  interface Options extends CommonOptions {
    proxy?: ProxyOptions
    tls?: TlsConnectionOptions
    ca?: TlsConnectionOptions['ca']
  }

  interface ProxyOptions {
    /** The proxy's origin, e.g. 'http://user:password@proxy.example.com:8080'. */
    origin: string
    /** Headers sent on the CONNECT request. */
    headers?: { [name: string]: string | number }
    /** Passed to tls.connect() for an https: proxy. */
    tls?: TlsConnectionOptions
  }

  interface ClientOptions extends CommonOptions {
    proxy?: ProxyOptions
    /** Passed to net.connect() (e.g. localAddress). */
    net?: Partial<NetConnectOpts>
    /** Passed to tls.connect() for a wss: origin. */
    tls?: TlsConnectionOptions
    /** Legacy shorthand for `{ tls: { ca } }`. */
    ca?: TlsConnectionOptions['ca']
  }

  interface Event {
    type: string
    target: any
    currentTarget: any
    eventPhase: number
    bubbles: boolean
    cancelable: boolean
    initEvent(eventType: string, canBubble: boolean, cancelable: boolean): void
    stopPropagation(): void
    preventDefault(): void
  }

  interface OpenEvent extends Event {}

  interface MessageEvent extends Event {
    /** A string for text messages, a Buffer for binary ones. */
    data: any
  }

  interface ErrorEvent extends Event {
    message: string
  }

  interface CloseEvent extends Event {
    /** The closing handshake's status code (null on hixie-75/76 connections, which have none). */
    code: number
    /** The closing handshake's reason (null on hixie-75/76 connections). */
    reason: string
  }

  /** Shared by the server-side socket and the client. */
  interface Socket extends Stream {
    /** 0 connecting, 1 open, 2 closing, 3 closed. */
    readonly readyState: number
    /** Bytes written to the socket but not yet sent. */
    readonly bufferedAmount: number
    /** The negotiated subprotocol, or ''. */
    readonly protocol: string
    /** 'hybi-13', or 'hixie-75' / 'hixie-76' for the drafts. */
    readonly version: string
    readonly url: string
    readable: boolean
    writable: boolean

    onopen: ((event: OpenEvent) => void) | null
    onmessage: ((event: MessageEvent) => void) | null
    onerror: ((event: ErrorEvent) => void) | null
    onclose: ((event: CloseEvent) => void) | null

    /** Strings go as text, Buffers as binary, anything else is stringified. */
    send(message: any): boolean
    /** Sends a ping; true if one was sent. The callback runs when the matching pong arrives. */
    ping(message?: string | Buffer, callback?: () => void): boolean
    /** code: 1000 or 3000-4999; reason: at most 123 UTF-8 bytes. */
    close(code?: number, reason?: string): void

    /** `send(data)`. */
    write(data: any): boolean
    /**
     * Sends `data` if given, then `close()`. Returns nothing; typed `any` so that a socket
     * is accepted where Node expects a writable stream, as in `readable.pipe(ws)`.
     */
    end(data?: any): any
    pause(): void
    resume(): void

    addEventListener(type: 'open', listener: (event: OpenEvent) => void, useCapture?: boolean): void
    addEventListener(type: 'message', listener: (event: MessageEvent) => void, useCapture?: boolean): void
    addEventListener(type: 'error', listener: (event: ErrorEvent) => void, useCapture?: boolean): void
    addEventListener(type: 'close', listener: (event: CloseEvent) => void, useCapture?: boolean): void
    addEventListener(type: string, listener: (event: any) => void, useCapture?: boolean): void
    removeEventListener(type: string, listener: (event: any) => void, useCapture?: boolean): void
    dispatchEvent(event: Event): void

    on(event: 'open', listener: (event: OpenEvent) => void): this
    on(event: 'message', listener: (event: MessageEvent) => void): this
    on(event: 'error', listener: (event: ErrorEvent) => void): this
    on(event: 'close', listener: (event: CloseEvent) => void): this
    on(event: 'data', listener: (data: string | Buffer) => void): this
    on(event: 'end' | 'drain', listener: () => void): this
    on(event: string | symbol, listener: (...args: any[]) => void): this

    pipe<T extends Writable>(destination: T, options?: { end?: boolean }): T
  }

  /** What `pipe()` accepts: any Node writable stream, or another socket. */
  interface Writable {
    write(data: any): boolean
    end(data?: any): unknown
  }

  interface Client extends Socket {
    /** The handshake response's status, once it arrived (also when it was refused). */
    statusCode?: number
    /** The handshake response's headers, names lower-cased. */
    headers?: { [name: string]: string }
  }

  interface ClientConstructor {
    new (url: string, protocols?: string[] | string | null, options?: ClientOptions): Client
  }

  /** permessage-deflate, run natively; `configure` as in the permessage-deflate package. */
  interface Deflate extends Extension {
    configure(options: DeflateOptions): Deflate
  }

  interface DeflateOptions {
    level?: number
    memLevel?: number
    strategy?: number
    noContextTakeover?: boolean
    maxWindowBits?: number
    requestNoContextTakeover?: boolean
    requestMaxWindowBits?: number
    zlib?: unknown
  }

  interface EventSourceOptions {
    /** Extra headers for the response. */
    headers?: { [name: string]: string | number }
    /** Seconds the client waits before reconnecting (default 5). */
    retry?: number
    /** Seconds between pings (default 10). */
    ping?: number
  }

  interface EventSourceSendOptions {
    event?: string
    id?: string
  }

  interface EventSource extends Stream {
    readonly url: string
    readonly lastEventId: string
    /** 0 connecting, 1 open, 3 closed. */
    readonly readyState: number
    writable: boolean
    onopen: ((event: OpenEvent) => void) | null
    onclose: ((event: Event) => void) | null
    /** Throws if `event` or `id` contains CR or LF. */
    send(message: any, options?: EventSourceSendOptions): boolean
    ping(): boolean
    close(): boolean
    /** `send(message)`. */
    write(message: any): boolean
    /** Sends `message` if given, then `close()`; typed `any` for `readable.pipe(es)`, as for sockets. */
    end(message?: any): any
    addEventListener(type: 'open' | 'close', listener: (event: Event) => void, useCapture?: boolean): void
    addEventListener(type: string, listener: (event: any) => void, useCapture?: boolean): void
    removeEventListener(type: string, listener: (event: any) => void, useCapture?: boolean): void
    dispatchEvent(event: Event): void
    on(event: 'open' | 'close', listener: (event: Event) => void): this
    on(event: 'drain', listener: () => void): this
    on(event: string | symbol, listener: (...args: any[]) => void): this
  }

  interface EventSourceConstructor {
    new (request: IncomingMessage, response: ServerResponse, options?: EventSourceOptions): EventSource
    /** True for a GET whose Accept header lists text/event-stream. */
    isEventSource(request: IncomingMessage): boolean
  }
}

interface WebSocket extends WebSocket.Socket {}

declare const WebSocket: {
  new (
    request: IncomingMessage,
    socket: Duplex,
    body: Buffer,
    protocols?: string[] | string | null,
    options?: WebSocket.Options
  ): WebSocket
  /** True for a GET with `Connection: Upgrade` and `Upgrade: websocket`. */
  isWebSocket(request: IncomingMessage): boolean
  validateOptions(options: object, validKeys: string[]): object
  WebSocket: typeof WebSocket
  Client: WebSocket.ClientConstructor
  EventSource: WebSocket.EventSourceConstructor
  deflate: WebSocket.Deflate
}

export = WebSocket
