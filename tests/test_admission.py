"""Admission: a few requests inside at once, the others in arrival order; a hash waits outside."""

import threading

from app import passwords
from app.admission import Admission
from helpers import PASSWORD, bearer

JOIN_SECONDS = 30  # only a guard against a hang: every wait here ends as soon as it may


def start(function) -> threading.Thread:
    thread = threading.Thread(target=function, daemon=True)
    thread.start()
    return thread


def wait_for_waiters(admission: Admission, count: int) -> None:
    """Return once `count` threads are queued (they queue while the slot is held, then block)."""
    while True:
        with admission._lock:
            if len(admission._waiting) == count:
                return
        threading.Event().wait(0.001)


def queue_visitors(admission: Admission, count: int, visit) -> list[threading.Thread]:
    """Start `count` threads that call `visit(number)` once inside, each queued before the next starts."""
    threads = []
    for number in range(count):
        threads.append(start(lambda number=number: visit(number)))
        wait_for_waiters(admission, number + 1)
    return threads


def test_threads_come_in_in_the_order_they_arrived():
    admission = Admission(1)
    order = []
    admission.enter()  # the slot is held: everyone else queues

    def visit(number: int) -> None:
        admission.enter()
        order.append(number)
        admission.leave()

    threads = queue_visitors(admission, 6, visit)
    admission.leave()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert order == list(range(6))


def test_never_more_threads_inside_than_slots():
    admission = Admission(2)
    inside, most, lock = [0], [0], threading.Lock()
    admission.enter()
    admission.enter()

    def visit(number: int) -> None:
        admission.enter()
        with lock:
            inside[0] += 1
            most[0] = max(most[0], inside[0])
        threading.Event().wait(0.001)  # stay a moment, so that others would overlap if they could
        with lock:
            inside[0] -= 1
        admission.leave()

    threads = queue_visitors(admission, 8, visit)
    admission.leave()
    admission.leave()
    for thread in threads:
        thread.join(JOIN_SECONDS)
    assert 1 <= most[0] <= 2


def test_stepping_out_hands_the_slot_to_the_next_thread_and_queues_again():
    admission = Admission(1)
    events = []
    admission.enter()

    def other() -> None:
        admission.enter()
        events.append("other inside")
        admission.leave()

    thread = start(other)
    wait_for_waiters(admission, 1)
    with admission.stepped_out():
        thread.join(JOIN_SECONDS)
        events.append("hash done")
    events.append("back inside")
    admission.leave()
    assert events == ["other inside", "hash done", "back inside"]


def test_stepping_out_without_having_come_in_changes_nothing():
    admission = Admission(1)
    with admission.stepped_out():
        pass
    admission.enter()  # still exactly one slot, and it is free
    assert admission._free == 0
    admission.leave()
    assert admission._free == 1


def test_a_guarded_request_is_answered_while_a_login_waits_for_bcrypt_with_one_slot(
    make_app, auth, monkeypatch
):
    app = make_app(request_concurrency=1)
    client = app.test_client()
    body = {"first": "A", "last": "B", "email": "wait@example.com", "password": PASSWORD}
    client.post("/api/auth/signup", json=body)
    token = client.post("/api/auth/login", json=body).json["authToken"]
    hashing, finish = threading.Event(), threading.Event()
    real_check = passwords.bcrypt.checkpw

    def slow_check(password: bytes, hashed: bytes) -> bool:
        hashing.set()
        finish.wait(JOIN_SECONDS)
        return real_check(password, hashed)

    monkeypatch.setattr(passwords.bcrypt, "checkpw", slow_check)
    answers = {}
    login = start(lambda: answers.update(login=app.test_client().post("/api/auth/login", json=body)))
    assert hashing.wait(JOIN_SECONDS)
    me = start(lambda: answers.update(me=app.test_client().get("/api/auth/me", headers=bearer(token))))
    me.join(JOIN_SECONDS)
    finish.set()
    login.join(JOIN_SECONDS)
    assert answers["me"].status_code == 200  # answered while the only slot's login was hashing
    assert answers["login"].status_code == 200
