"""The ops API load test: operators working their queues.

Each virtual user signs in as one seeded operator (`tenet bench seed-ops` writes the list to
`LOAD_LOGINS`, default `logins.csv`), as the ops UI does: a session cookie and its CSRF
token. It opens a few tickets of its own, then works like an operator, pausing between
actions (`LOAD_WAIT_MIN`/`_MAX` seconds, default 1 to 3):

    list my queue 4 · open a ticket 3 · comment 2 · change status 1 · create a ticket 1

Run it with `deploy/load/run.sh`, which starts the server, seeds PostgreSQL and prints the
figures. Users are `FastHttpUser`s (geventhttpclient): a thousand of them take a fraction of
one core, so the load generator leaves the machine to the server it measures.
"""

import csv
import itertools
import os
import random
import threading

from locust import FastHttpUser, between, task

LOGINS_FILE = os.environ.get("LOAD_LOGINS", "logins.csv")
WAIT_MIN = float(os.environ.get("LOAD_WAIT_MIN", "1"))
WAIT_MAX = float(os.environ.get("LOAD_WAIT_MAX", "3"))

_logins = None
_lock = threading.Lock()
_addresses = itertools.count(1)


def next_login():
    global _logins
    with _lock:
        if _logins is None:
            with open(LOGINS_FILE, newline="") as file:
                rows = list(csv.DictReader(file))
            if not rows:
                raise RuntimeError(f"{LOGINS_FILE} lists no operators")
            _logins = itertools.cycle(rows)
        return next(_logins)


class Operator(FastHttpUser):
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def on_start(self):
        login = next_login()
        self.project = login["project_id"]
        # Each operator works from a desk of their own behind the load balancer, which the
        # server trusts to name it (sign-in is throttled per address).
        with _lock:
            desk = next(_addresses)
        self.headers = {
            "x-forwarded-for": f"10.{desk >> 16 & 255}.{desk >> 8 & 255}.{desk & 255}"
        }
        answer = self.client.post(
            "/api/v1/auth/login",
            json={
                "tenant_id": login["tenant_id"],
                "email": login["email"],
                "password": login["password"],
            },
            headers=self.headers,
            name="sign in",
        )
        answer.raise_for_status()
        # The session cookie stays in the client's cookie jar; writes also carry the CSRF token.
        self.headers["x-csrf-token"] = answer.json()["csrf_token"]
        me = self.client.get("/api/v1/me", headers=self.headers, name="who am I").json()
        self.user = me["user"]["id"]
        self.tickets = {}
        for _ in range(3):
            self.create_ticket()

    def remember(self, ticket):
        self.tickets[ticket["id"]] = ticket["version"]

    @task(4)
    def list_my_queue(self):
        answer = self.client.get(
            "/api/v1/tickets?assignee=me&limit=20", headers=self.headers, name="list my queue"
        )
        if answer.ok:
            for ticket in answer.json()["items"]:
                self.remember(ticket)

    @task(3)
    def open_ticket(self):
        if not self.tickets:
            return
        ticket = random.choice(list(self.tickets))
        answer = self.client.get(
            f"/api/v1/tickets/{ticket}", headers=self.headers, name="open a ticket"
        )
        if answer.ok:
            self.remember(answer.json())

    @task(2)
    def comment(self):
        if not self.tickets:
            return
        ticket = random.choice(list(self.tickets))
        self.client.post(
            f"/api/v1/tickets/{ticket}/comments",
            json={"body": "Called the customer back; waiting for the meter reading."},
            headers=self.headers,
            name="comment",
        )

    @task(1)
    def change_status(self):
        if not self.tickets:
            return
        ticket = random.choice(list(self.tickets))
        version = self.tickets[ticket]
        with self.client.patch(
            f"/api/v1/tickets/{ticket}",
            json={"version": version, "status": random.choice(["open", "pending"])},
            headers=self.headers,
            name="change status",
            catch_response=True,
        ) as answer:
            if answer.status_code == 200:
                self.remember(answer.json())
                answer.success()
            elif answer.status_code in (409, 422):
                # Someone else moved it first, or it is already there: an operator's
                # everyday answer, not a server error. Read it again.
                answer.success()
                fresh = self.client.get(
                    f"/api/v1/tickets/{ticket}", headers=self.headers, name="open a ticket"
                )
                if fresh.ok:
                    self.remember(fresh.json())

    @task(1)
    def create_ticket(self):
        answer = self.client.post(
            "/api/v1/tickets",
            json={
                "project_id": self.project,
                "subject": "No hot water since this morning",
                "description": "Building 12, flat 4. The customer asks for a callback.",
                "channel": "voice",
                "assignee_id": self.user,
            },
            headers=self.headers,
            name="create a ticket",
        )
        if answer.status_code == 201:
            self.remember(answer.json())
