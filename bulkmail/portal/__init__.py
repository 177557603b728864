"""The portal's API: calls, and what every answer means.

client (login, list, look up, create over an injected httpx client), answers (an answer or a
network error -> a Verdict: code, stage, message, hint, retry), server_messages (the portal's
text about its test logins to the row's mail servers), http (the clients the workers use).
"""
