/// The OpenAPI 3.1 document of the HTTP API, served at `GET /api/openapi.json` (hand-written: keep it in step
/// with the routes, ``Payloads`` and ``APIError``; `scripts/check-openapi` validates it and fuzzes a live broker
/// against it).
enum OpenAPIDocument {
    /// The document, pretty-printed JSON.
    static let json = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "broker HTTP API",
            "version": "1.0.0",
            "summary": "A Phoenix Channels-compatible chat broker: accounts, conversations, messages, health.",
            "description": "The normative contract is `shared/contract.md`. Success bodies are `{\"data\": ...}`, except registration's."
          },
          "tags": [
            {"name": "accounts", "description": "Registration, users, sessions."},
            {"name": "conversations", "description": "Conversations and their messages (participants only)."},
            {"name": "mailer", "description": "The local development mailer's mailbox."},
            {"name": "socket", "description": "The Phoenix Channels WebSocket endpoint."},
            {"name": "operations", "description": "Health, readiness, metrics, this document."}
          ],
          "paths": {
            "/api/users": {
              "post": {
                "operationId": "registerUser",
                "tags": ["accounts"],
                "summary": "Register",
                "description": "Creates a user with a generated password, answered once (not wrapped in `data`) and mailed.",
                "security": [],
                "requestBody": {
                  "required": true,
                  "description": "The new user's fields.",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegistrationRequest"}}}
                },
                "responses": {
                  "201": {
                    "description": "The new user, with its password.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegisteredUser"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                  "422": {"$ref": "#/components/responses/ValidationFailed"},
                  "429": {"$ref": "#/components/responses/RateLimited"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              },
              "get": {
                "operationId": "listUsers",
                "tags": ["accounts"],
                "summary": "List users",
                "description": "Every user, ascending by id, a page at a time: pass the last id of a page as `after_id` for the next.",
                "security": [{"bearer": []}],
                "parameters": [{"$ref": "#/components/parameters/Limit"}, {"$ref": "#/components/parameters/AfterID"}],
                "responses": {
                  "200": {
                    "description": "A page of users.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["data"],
                          "additionalProperties": false,
                          "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/api/users/me": {
              "get": {
                "operationId": "getCurrentUser",
                "tags": ["accounts"],
                "summary": "The signed-in user",
                "security": [{"bearer": []}],
                "responses": {
                  "200": {
                    "description": "The user the token names.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["data"],
                          "additionalProperties": false,
                          "properties": {"data": {"$ref": "#/components/schemas/User"}}
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/api/login": {
              "post": {
                "operationId": "login",
                "tags": ["accounts"],
                "summary": "Sign in",
                "description": "An unknown email and a wrong password get the same 401, in the same time. Rate limited with registration.",
                "security": [],
                "requestBody": {
                  "required": true,
                  "description": "The email and password (`email` is trimmed). Not both strings: 400.",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/LoginRequest"}}}
                },
                "responses": {
                  "200": {
                    "description": "Signed in; the token is also in the `authorization` header.",
                    "headers": {
                      "authorization": {
                        "description": "`Bearer <token>`, the same token as in the body.",
                        "required": true,
                        "schema": {
                          "type": "string",
                          "pattern": "^Bearer [A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$"
                        }
                      },
                      "x-request-id": {"$ref": "#/components/headers/RequestID"}
                    },
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["data"],
                          "additionalProperties": false,
                          "properties": {"data": {"$ref": "#/components/schemas/Session"}}
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                  "429": {"$ref": "#/components/responses/RateLimited"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/api/logout": {
              "post": {
                "operationId": "logout",
                "tags": ["accounts"],
                "summary": "Sign out",
                "description": "Revokes the presented token everywhere until it would have expired, and closes every socket opened with it (1008).",
                "security": [{"bearer": []}],
                "responses": {
                  "204": {
                    "description": "Signed out.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/api/conversations": {
              "post": {
                "operationId": "createConversation",
                "tags": ["conversations"],
                "summary": "Get or create a conversation",
                "description": "Creates it with the caller as its sender, or answers the pair's existing one (either order) as it was created.",
                "security": [{"bearer": []}],
                "requestBody": {
                  "required": true,
                  "description": "The other participant.",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ConversationRequest"}}}
                },
                "responses": {
                  "200": {
                    "description": "The pair's existing conversation.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["data"],
                          "additionalProperties": false,
                          "properties": {"data": {"$ref": "#/components/schemas/Conversation"}}
                        }
                      }
                    }
                  },
                  "201": {
                    "description": "The new conversation.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["data"],
                          "additionalProperties": false,
                          "properties": {"data": {"$ref": "#/components/schemas/Conversation"}}
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                  "422": {"$ref": "#/components/responses/ValidationFailed"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              },
              "get": {
                "operationId": "listConversations",
                "tags": ["conversations"],
                "summary": "The caller's conversations",
                "description": "By `last_message_id` descending; those without messages last, by id descending.",
                "security": [{"bearer": []}],
                "responses": {
                  "200": {
                    "description": "The caller's conversations.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["data"],
                          "additionalProperties": false,
                          "properties": {
                            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Conversation"}}
                          }
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/api/conversations/{id}/messages": {
              "parameters": [{"$ref": "#/components/parameters/ConversationID"}],
              "post": {
                "operationId": "sendMessage",
                "tags": ["conversations"],
                "summary": "Send a message",
                "description": "Stored, then pushed live like `send_msg`. Unknown conversation: 404 (before the body is read); non-participant: 403.",
                "security": [{"bearer": []}],
                "requestBody": {
                  "required": true,
                  "description": "The message.",
                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessageRequest"}}}
                },
                "responses": {
                  "200": {
                    "description": "A resend: the message stored earlier with this `client_id`; nothing is pushed again.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["data"],
                          "additionalProperties": false,
                          "properties": {"data": {"$ref": "#/components/schemas/Message"}}
                        }
                      }
                    }
                  },
                  "201": {
                    "description": "Stored and delivered.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["data"],
                          "additionalProperties": false,
                          "properties": {"data": {"$ref": "#/components/schemas/Message"}}
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "413": {"$ref": "#/components/responses/PayloadTooLarge"},
                  "422": {"$ref": "#/components/responses/ValidationFailed"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              },
              "get": {
                "operationId": "listMessages",
                "tags": ["conversations"],
                "summary": "A conversation's history",
                "description": "No bound: the newest `limit`; `before_id`: the newest older; `after_id`: the oldest newer. Always ascending.",
                "security": [{"bearer": []}],
                "parameters": [
                  {"$ref": "#/components/parameters/BeforeID"},
                  {"$ref": "#/components/parameters/AfterID"},
                  {"$ref": "#/components/parameters/Limit"}
                ],
                "responses": {
                  "200": {
                    "description": "A page of messages.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MessagePage"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "401": {"$ref": "#/components/responses/Unauthorized"},
                  "403": {"$ref": "#/components/responses/Forbidden"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/api/sent_mails": {
              "get": {
                "operationId": "listSentMails",
                "tags": ["mailer"],
                "summary": "The local mailer's newest 500 mails",
                "description": "Development only (`BROKER_MAILER=local`, loopback): every generated password, unauthenticated. smtp: 404.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The mails.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["data"],
                          "additionalProperties": false,
                          "properties": {"data": {"type": "array", "items": {"$ref": "#/components/schemas/Mail"}}}
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/sent_mails": {
              "get": {
                "operationId": "previewSentMails",
                "tags": ["mailer"],
                "summary": "The mails of `/api/sent_mails` as one HTML page",
                "description": "Development only (`BROKER_MAILER=local`, loopback): every generated password, unauthenticated. smtp: 404.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "An HTML page.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {"text/html": {"schema": {"type": "string"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "404": {"$ref": "#/components/responses/NotFound"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {"$ref": "#/components/responses/Unavailable"}
                }
              }
            },
            "/socket/websocket": {
              "get": {
                "operationId": "openSocket",
                "tags": ["socket"],
                "summary": "Open the Phoenix Channels WebSocket",
                "description": "RFC 6455 upgrade, then Phoenix Channels (README). A refusal has an error body and closes the connection.",
                "security": [],
                "parameters": [
                  {
                    "name": "token",
                    "in": "query",
                    "required": true,
                    "description": "The JWT from `POST /api/login`; missing or not valid: 403.",
                    "schema": {"type": "string"}
                  },
                  {
                    "name": "vsn",
                    "in": "query",
                    "required": false,
                    "description": "`2.0.0`: array frames; `1.0.0` or none: object frames. Any other value: 400.",
                    "schema": {"type": "string", "enum": ["1.0.0", "2.0.0"], "default": "1.0.0"}
                  }
                ],
                "responses": {
                  "101": {
                    "description": "Switched; asked with `upgrade: websocket`, `sec-websocket-key` and `sec-websocket-version: 13`.",
                    "headers": {
                      "upgrade": {"required": true, "schema": {"type": "string", "const": "websocket"}},
                      "sec-websocket-accept": {"required": true, "schema": {"type": "string"}},
                      "x-request-id": {"$ref": "#/components/headers/RequestID"}
                    }
                  },
                  "400": {
                    "description": "An unsupported `vsn`, an invalid upgrade, a GET asking no upgrade, or unparsable HTTP.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                  },
                  "403": {
                    "description": "A missing, invalid, expired or revoked token, or an `Origin` not allowed.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                  },
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "429": {
                    "description": "The user already has `BROKER_MAX_SOCKETS_PER_USER` sockets open on this node.",
                    "headers": {
                      "retry-after": {"$ref": "#/components/headers/RetryAfter"},
                      "x-request-id": {"$ref": "#/components/headers/RequestID"}
                    },
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                  },
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "500": {"$ref": "#/components/responses/InternalError"},
                  "503": {
                    "description": "The node is draining, or the store is unavailable.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                  }
                }
              }
            },
            "/healthz": {
              "get": {
                "operationId": "health",
                "tags": ["operations"],
                "summary": "Liveness",
                "description": "The process answers.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "Alive.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["status"],
                          "additionalProperties": false,
                          "properties": {"status": {"const": "ok"}}
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"}
                }
              }
            },
            "/readyz": {
              "get": {
                "operationId": "readiness",
                "tags": ["operations"],
                "summary": "Readiness",
                "description": "Store reachable, not draining, cluster channel (if any) listening: for load balancers.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "Ready.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {
                        "schema": {
                          "type": "object",
                          "required": ["status"],
                          "additionalProperties": false,
                          "properties": {"status": {"const": "ready"}}
                        }
                      }
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"},
                  "503": {
                    "description": "Not ready: draining, store unavailable, or cluster channel down.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
                  }
                }
              }
            },
            "/metrics": {
              "get": {
                "operationId": "metrics",
                "tags": ["operations"],
                "summary": "Prometheus metrics",
                "description": "The Prometheus text exposition format (0.0.4).",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The metrics.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {"text/plain": {"schema": {"type": "string"}}}
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"}
                }
              }
            },
            "/api/openapi.json": {
              "get": {
                "operationId": "openapi",
                "tags": ["operations"],
                "summary": "This document",
                "description": "The OpenAPI 3.1 document of the HTTP API.",
                "security": [],
                "responses": {
                  "200": {
                    "description": "The document.",
                    "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                    "content": {
                      "application/json": {"schema": {"type": "object", "required": ["openapi", "info", "paths"]}}
                    }
                  },
                  "400": {"$ref": "#/components/responses/BadRequest"},
                  "408": {"$ref": "#/components/responses/RequestTimeout"},
                  "431": {"$ref": "#/components/responses/HeadersTooLarge"}
                }
              }
            }
          },
          "components": {
            "securitySchemes": {
              "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "The token from `POST /api/login`; missing, malformed, expired or revoked: 401."
              }
            },
            "schemas": {
              "Error": {
                "type": "object",
                "description": "Every error other than a validation failure.",
                "required": ["errors"],
                "additionalProperties": false,
                "properties": {
                  "errors": {
                    "type": "object",
                    "required": ["detail"],
                    "additionalProperties": false,
                    "properties": {"detail": {"type": "string", "description": "Human-readable text."}}
                  }
                },
                "examples": [{"errors": {"detail": "conversation not found"}}]
              },
              "ValidationErrors": {
                "type": "object",
                "description": "A validation failure (422): each field at fault with its messages, in Ecto's wording.",
                "required": ["errors"],
                "additionalProperties": false,
                "properties": {
                  "errors": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": {"type": "array", "minItems": 1, "items": {"type": "string"}}
                  }
                },
                "examples": [
                  {"errors": {"email": ["has already been taken"]}},
                  {"errors": {"name": ["can't be blank"], "job": ["should be at most 255 character(s)"]}},
                  {"errors": {"recipient_id": ["does not exist"]}},
                  {"errors": {"email": ["has invalid format"]}},
                  {"errors": {"recipient_id": ["can't be yourself"]}},
                  {"errors": {"content": ["is invalid"]}}
                ]
              },
              "User": {
                "type": "object",
                "description": "A user. Never carries a password, except in the answer to its registration.",
                "required": ["id", "name", "subname", "email", "job"],
                "additionalProperties": false,
                "properties": {
                  "id": {"type": "integer", "format": "int64", "minimum": 1},
                  "name": {"type": "string"},
                  "subname": {"type": "string"},
                  "email": {"type": "string"},
                  "job": {"type": "string"}
                }
              },
              "RegisteredUser": {
                "type": "object",
                "description": "The answer to a registration: the user with its generated password, shown this once (and mailed).",
                "required": ["id", "name", "subname", "email", "job", "password"],
                "additionalProperties": false,
                "properties": {
                  "id": {"type": "integer", "format": "int64", "minimum": 1},
                  "name": {"type": "string"},
                  "subname": {"type": "string"},
                  "email": {"type": "string"},
                  "job": {"type": "string"},
                  "password": {
                    "type": "string",
                    "minLength": 16,
                    "pattern": "^[A-Za-z0-9_-]+$",
                    "description": "Random URL-safe characters."
                  }
                }
              },
              "Session": {
                "type": "object",
                "required": ["user", "token", "expire"],
                "additionalProperties": false,
                "properties": {
                  "user": {"$ref": "#/components/schemas/User"},
                  "token": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$",
                    "description": "A JWT (HS256) for `authorization: Bearer` and the socket's `token`."
                  },
                  "expire": {
                    "type": "integer",
                    "format": "int64",
                    "description": "When the token expires, in Unix seconds."
                  }
                }
              },
              "Conversation": {
                "type": "object",
                "description": "A conversation between two users, as its caller sees it.",
                "required": [
                  "id",
                  "sender_id",
                  "recipient_id",
                  "status",
                  "inserted_at",
                  "last_message_id",
                  "last_read_id",
                  "peer_last_read_id"
                ],
                "additionalProperties": false,
                "properties": {
                  "id": {"type": "integer", "format": "int64", "minimum": 1},
                  "sender_id": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "description": "The user who created it."
                  },
                  "recipient_id": {
                    "type": "integer",
                    "format": "int64",
                    "minimum": 1,
                    "description": "The other participant."
                  },
                  "status": {
                    "type": "string",
                    "description": "Free-form; `active` on creation.",
                    "examples": ["active"]
                  },
                  "inserted_at": {
                    "type": "string",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
                    "description": "RFC 3339, UTC, six fractional digits.",
                    "examples": ["2026-11-25T14:00:00.123456Z"]
                  },
                  "last_message_id": {
                    "type": ["integer", "null"],
                    "format": "int64",
                    "minimum": 1,
                    "description": "Its newest message; null while it has none."
                  },
                  "last_read_id": {
                    "type": ["integer", "null"],
                    "format": "int64",
                    "minimum": 1,
                    "description": "The caller's read position; null until set."
                  },
                  "peer_last_read_id": {
                    "type": ["integer", "null"],
                    "format": "int64",
                    "minimum": 1,
                    "description": "The other participant's read position; null until set."
                  }
                }
              },
              "Message": {
                "type": "object",
                "required": ["id", "conversation_id", "sender_id", "content", "date", "client_id"],
                "additionalProperties": false,
                "properties": {
                  "id": {"type": "integer", "format": "int64", "minimum": 1},
                  "conversation_id": {"type": "integer", "format": "int64", "minimum": 1},
                  "sender_id": {"type": "integer", "format": "int64", "minimum": 1},
                  "content": {"type": "string"},
                  "date": {
                    "type": "string",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
                    "description": "When it was stored (RFC 3339, UTC, six fractional digits).",
                    "examples": ["2026-11-25T14:00:00.123456Z"]
                  },
                  "client_id": {
                    "type": ["string", "null"],
                    "description": "The sender's idempotency key; null when not given."
                  }
                }
              },
              "MessagePage": {
                "type": "object",
                "required": ["data", "has_more"],
                "additionalProperties": false,
                "properties": {
                  "data": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Message"},
                    "description": "Ascending by id."
                  },
                  "has_more": {
                    "type": "boolean",
                    "description": "Whether more messages exist beyond this page in the direction read (older, or newer for `after_id`)."
                  }
                }
              },
              "Mail": {
                "type": "object",
                "description": "A mail of the local (development) mailer.",
                "required": ["id", "to", "from", "subject", "text_body", "html_body", "status", "inserted_at"],
                "additionalProperties": false,
                "properties": {
                  "id": {"type": "integer", "format": "int64", "minimum": 1},
                  "to": {"type": "string"},
                  "from": {"type": "string"},
                  "subject": {"type": "string"},
                  "text_body": {
                    "type": "string",
                    "description": "The registration mail's text body contains the generated password."
                  },
                  "html_body": {"type": "string"},
                  "status": {"type": "string", "enum": ["pending", "sent", "failed"]},
                  "inserted_at": {
                    "type": "string",
                    "format": "date-time",
                    "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$",
                    "description": "RFC 3339, UTC, six fractional digits.",
                    "examples": ["2026-11-25T14:00:00.123456Z"]
                  }
                }
              },
              "RegistrationRequest": {
                "type": "object",
                "required": ["user"],
                "properties": {
                  "user": {
                    "type": "object",
                    "description": "Each field is trimmed, then must be non-blank and at most 255 characters.",
                    "required": ["name", "subname", "email", "job"],
                    "properties": {
                      "name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"},
                      "subname": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"},
                      "email": {
                        "type": "string",
                        "minLength": 5,
                        "maxLength": 255,
                        "pattern": "^\\s*[^\\s@]+@[^\\s@.]+(\\.[^\\s@.]+)+\\s*$",
                        "description": "`local@domain.tld`, no spaces; unique regardless of case."
                      },
                      "job": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "\\S"}
                    }
                  }
                }
              },
              "LoginRequest": {
                "type": "object",
                "required": ["creds"],
                "properties": {
                  "creds": {
                    "type": "object",
                    "required": ["email", "password"],
                    "properties": {"email": {"type": "string"}, "password": {"type": "string"}}
                  }
                },
                "examples": [{"creds": {"email": "ada@example.com", "password": "the-generated-password"}}]
              },
              "ConversationRequest": {
                "type": "object",
                "required": ["conversation"],
                "properties": {
                  "conversation": {
                    "type": "object",
                    "description": "The other participant; the caller's own id: `can't be yourself`.",
                    "required": ["recipient_id"],
                    "properties": {
                      "recipient_id": {
                        "type": "integer",
                        "description": "Missing: `can't be blank`; not an integer: `is invalid`; no such user: `does not exist`."
                      }
                    }
                  }
                },
                "examples": [{"conversation": {"recipient_id": 2}}]
              },
              "MessageRequest": {
                "type": "object",
                "required": ["message"],
                "properties": {
                  "message": {
                    "type": "object",
                    "required": ["content"],
                    "properties": {
                      "content": {
                        "type": "string",
                        "minLength": 1,
                        "maxLength": 10000,
                        "pattern": "\\S",
                        "description": "Not blank; at most `BROKER_MAX_MESSAGE_LENGTH` (10,000) characters; kept as sent."
                      },
                      "client_id": {
                        "type": ["string", "null"],
                        "maxLength": 255,
                        "description": "Idempotency key: a resend with a known `client_id` answers 200 with the stored message."
                      }
                    }
                  }
                },
                "examples": [{"message": {"content": "hi", "client_id": "4f9c2d4e-1b7a-4c55-9f57-0b0d6a1e2f3a"}}]
              }
            },
            "parameters": {
              "Limit": {
                "name": "limit",
                "in": "query",
                "required": false,
                "description": "Page size: a positive integer, 50 by default; above 200 counts as 200. Anything else: 400.",
                "schema": {
                  "type": "integer",
                  "format": "int64",
                  "minimum": 1,
                  "maximum": 9223372036854775807,
                  "default": 50
                }
              },
              "AfterID": {
                "name": "after_id",
                "in": "query",
                "required": false,
                "description": "Only ids greater than this (a non-negative integer; 0 reads from the start). Anything else: 400.",
                "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 9223372036854775807}
              },
              "BeforeID": {
                "name": "before_id",
                "in": "query",
                "required": false,
                "description": "Only ids smaller than this (a non-negative integer). Anything else: 400; with `after_id` too: 400.",
                "schema": {"type": "integer", "format": "int64", "minimum": 0, "maximum": 9223372036854775807}
              },
              "ConversationID": {
                "name": "id",
                "in": "path",
                "required": true,
                "description": "The conversation's id; one that does not exist (or is not a positive integer) is 404.",
                "schema": {"type": "integer", "format": "int64", "minimum": 1, "maximum": 9223372036854775807}
              }
            },
            "headers": {
              "RetryAfter": {
                "description": "Whole seconds to wait before retrying.",
                "required": true,
                "schema": {"type": "integer", "minimum": 1}
              },
              "RequestID": {
                "description": "Ties the answer to the broker's log lines: a trusted proxy's id, else 32 hex digits.",
                "required": false,
                "schema": {"type": "string", "pattern": "^[!-~]{1,128}$"}
              },
              "Allow": {
                "description": "The methods the path has, comma-separated.",
                "required": true,
                "schema": {"type": "string"}
              }
            },
            "responses": {
              "BadRequest": {
                "description": "Malformed JSON, a body of the wrong shape or types, a bad query parameter, or unparsable HTTP (then closed).",
                "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "Forbidden": {
                "description": "Authenticated but not allowed: the caller does not take part in this conversation.",
                "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "HeadersTooLarge": {
                "description": "Request line and headers over `BROKER_MAX_HEADER_BYTES` (16 KiB by default); the connection is closed.",
                "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "InternalError": {
                "description": "An unexpected failure (a bug); the details are logged, not sent.",
                "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "MethodNotAllowed": {
                "description": "A documented path with a method it lacks (any other path: 404); `allow` lists its methods.",
                "headers": {
                  "allow": {"$ref": "#/components/headers/Allow"},
                  "x-request-id": {"$ref": "#/components/headers/RequestID"}
                },
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "NotFound": {
                "description": "Unknown resource, or a path not documented here.",
                "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "PayloadTooLarge": {
                "description": "The request body is larger than `BROKER_MAX_BODY_BYTES` (1 MiB by default).",
                "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "RateLimited": {
                "description": "Rate limited: too many login and registration requests from this client address.",
                "headers": {
                  "retry-after": {"$ref": "#/components/headers/RetryAfter"},
                  "x-request-id": {"$ref": "#/components/headers/RequestID"}
                },
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "RequestTimeout": {
                "description": "The request line and headers did not arrive within `BROKER_HTTP_HEAD_TIMEOUT` seconds; the connection is closed.",
                "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "Unauthorized": {
                "description": "Not authenticated: a missing, malformed, expired or revoked bearer token (for login: bad credentials).",
                "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "Unavailable": {
                "description": "The store is unavailable, or the node is draining or shutting down: retry, on another node if need be.",
                "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
              },
              "ValidationFailed": {
                "description": "Validation failed: each field at fault with its messages, in Ecto's wording.",
                "headers": {"x-request-id": {"$ref": "#/components/headers/RequestID"}},
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationErrors"}}}
              }
            }
          }
        }
        """#
}
