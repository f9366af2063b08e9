"""The whole enrolment flow through the Python client generated from the
committed OpenAPI document (by contract/check, into a temporary folder that
is on PYTHONPATH as `lophoc_client`).

Every call goes through a generated function and every body is a generated
model, so a document that types something wrongly fails here. Usage:

    python flow.py BASE_URL ADMIN_EMAIL ADMIN_PASSWORD
"""

import csv
import hmac
import io
import json
import queue
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from datetime import date, datetime, timedelta, timezone
from typing import Any, TypeVar

import icalendar

from lophoc_client import AuthenticatedClient, Client
from lophoc_client.api.attendance import open_check_in, put_attendance, roll_call
from lophoc_client.api.auth import login
from lophoc_client.api.calendars import renew_feed
from lophoc_client.api.courses import create_course
from lophoc_client.api.enrolments import cancel_enrolment, enrol, get_enrolment
from lophoc_client.api.organizations import create_organization
from lophoc_client.api.participants import create_participant
from lophoc_client.api.programmes import create_programme
from lophoc_client.api.reports import (
    enrolment_stats,
    enrolment_stats_csv,
    enrolment_stats_xlsx,
    export_enrolments_csv,
    export_enrolments_xlsx,
)
from lophoc_client.api.sessions import create_session, get_session
from lophoc_client.api.users import create_user
from lophoc_client.api.webhooks import create_webhook, list_deliveries
from lophoc_client.models import (
    AttendanceStatus,
    CalendarFeedResponse,
    Category,
    CheckInCodeResponse,
    CourseResponse,
    CreateCourseRequest,
    CreateOrganizationRequest,
    CreateParticipantRequest,
    CreateProgrammeRequest,
    CreateSessionRequest,
    CreateUserRequest,
    CreateWebhookRequest,
    CreatedWebhookResponse,
    DeliveryPage,
    DeliveryStatus,
    EnrolmentResponse,
    EnrolmentStatus,
    EnrolRequest,
    EventType,
    Gender,
    GroupKey,
    Lang,
    LoginRequest,
    MarkInput,
    OrganizationKind,
    OrganizationResponse,
    ParticipantResponse,
    Problem,
    ProgrammeResponse,
    PutAttendanceRequest,
    PutAttendanceResponse,
    Role,
    RollCallEntryPage,
    SessionResponse,
    Stats,
    TokenResponse,
    UserResponse,
)
from lophoc_client.types import File, Response

T = TypeVar("T")


def check(condition: bool, what: str) -> None:
    if not condition:
        raise AssertionError(what)


def expect(response: Response[Any], status: int, model: type[T], what: str) -> T:
    """The parsed body of a response that must have this status and type."""
    got = response.status_code
    body = response.content[:500]
    check(got == status, f"{what}: expected {status}, got {got}: {body!r}")
    check(isinstance(response.parsed, model), f"{what}: not a {model.__name__}: {body!r}")
    print(f"ok  {what} ({got})")
    return response.parsed  # type: ignore[return-value]


def table(file: File) -> list[list[str]]:
    """A CSV file as rows: UTF-8, which the server starts with a BOM for
    Excel. CSV files are bytes to the client (see generator.yaml)."""
    text = file.payload.read().decode("utf-8")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def webhook_receiver() -> tuple[str, "queue.Queue[tuple[dict[str, str], bytes]]"]:
    """A receiver on loopback, as a district system would run one: its URL,
    and the deliveries it gets (headers, body)."""
    received: "queue.Queue[tuple[dict[str, str], bytes]]" = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.put(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/lophoc", received


def main(base_url: str, admin_email: str, admin_password: str) -> None:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)

    def sign_in(email: str, password: str) -> AuthenticatedClient:
        r = login.sync_detailed(client=anonymous, body=LoginRequest(email=email, password=password))
        tokens = expect(r, 200, TokenResponse, f"login {email}")
        return AuthenticatedClient(base_url=base_url, token=tokens.access_token)

    admin = sign_in(admin_email, admin_password)
    # Unique names: the flow may run again on the same database.
    tag = uuid.uuid4().hex[:8]

    # A district system subscribes to promotions from the waitlist (the
    # server runs with LOPHOC_WEBHOOK_ALLOW_PRIVATE=true for this loopback
    # receiver).
    hook_url, deliveries = webhook_receiver()
    hook = expect(
        create_webhook.sync_detailed(
            client=admin, body=CreateWebhookRequest(url=hook_url, events=[EventType.ENROLMENT_PROMOTED])
        ),
        201, CreatedWebhookResponse, "create webhook",
    )
    check(hook.secret.startswith("whsec_") and hook.events == [EventType.ENROLMENT_PROMOTED], f"webhook: {hook}")

    unit = expect(
        create_organization.sync_detailed(
            client=admin,
            body=CreateOrganizationRequest(kind=OrganizationKind.HAMLET, name=f"Xóm {tag}", code=f"X{tag}"),
        ),
        201, OrganizationResponse, "create unit",
    )
    trainer_password = f"trainer-{tag}-pw"
    trainer_user = expect(
        create_user.sync_detailed(
            client=admin,
            body=CreateUserRequest(
                email=f"trainer-{tag}@example.org", password=trainer_password,
                full_name=f"Trainer {tag}", role=Role.TRAINER,
            ),
        ),
        201, UserResponse, "create trainer",
    )
    today = date.today()
    programme = expect(
        create_programme.sync_detailed(
            client=admin,
            body=CreateProgrammeRequest(name=f"Week {tag}", starts_on=today, ends_on=today + timedelta(days=30)),
        ),
        201, ProgrammeResponse, "create programme",
    )
    course = expect(
        create_course.sync_detailed(
            client=admin,
            body=CreateCourseRequest(title=f"Safe searching {tag}", duration_minutes=60, programme_id=programme.id),
        ),
        201, CourseResponse, "create course",
    )
    # Starts in ten minutes: enrolment is still open (it closes at the start)
    # and check-in codes and marks are accepted (from 30 minutes before).
    now = datetime.now(timezone.utc).replace(microsecond=0)
    session = expect(
        create_session.sync_detailed(
            client=admin,
            body=CreateSessionRequest(
                course_id=course.id, starts_at=now + timedelta(minutes=10), ends_at=now + timedelta(minutes=70),
                venue=f"Nhà văn hoá {tag}", capacity=1, trainer_ids=[trainer_user.id], waitlist=True,
            ),
        ),
        201, SessionResponse, "create session",
    )
    check(session.capacity == 1 and session.waitlist and session.seats_left == 1, f"new session: {session}")

    people = [
        expect(
            create_participant.sync_detailed(
                client=admin,
                body=CreateParticipantRequest(
                    full_name=f"Người {n} {tag}", category=Category.LEARNER,
                    organization_id=unit.id, gender=Gender.FEMALE,
                ),
            ),
            201, ParticipantResponse, f"create participant {n}",
        )
        for n in (1, 2)
    ]

    def place(person: ParticipantResponse, status: int) -> EnrolmentResponse:
        r = enrol.sync_detailed(session.id, client=admin, body=EnrolRequest(participant_id=person.id))
        return expect(r, status, EnrolmentResponse, f"enrol {person.full_name}")

    first, second = place(people[0], 201), place(people[1], 201)
    check(first.status == EnrolmentStatus.ENROLLED, f"first place: {first.status}")
    check(second.status == EnrolmentStatus.WAITLISTED and second.waitlist_position == 1, f"second: {second}")
    again = place(people[0], 200)
    check(again.id == first.id, "enrolling again answers the same place")
    full = expect(get_session.sync_detailed(session.id, client=admin), 200, SessionResponse, "get session")
    check((full.enrolled_count, full.waitlisted_count, full.seats_left) == (1, 1, 0), f"counts: {full}")

    cancelled = expect(
        cancel_enrolment.sync_detailed(first.id, client=admin), 200, EnrolmentResponse, "cancel first place"
    )
    check(cancelled.status == EnrolmentStatus.CANCELLED, f"cancelled: {cancelled.status}")
    promoted = expect(get_enrolment.sync_detailed(second.id, client=admin), 200, EnrolmentResponse, "get second")
    check(
        promoted.status == EnrolmentStatus.ENROLLED and promoted.waitlist_position is None,
        f"the waitlisted person moves up: {promoted}",
    )

    # The promotion reaches the receiver, signed as the README shows.
    headers, body = deliveries.get(timeout=20)
    ts, signature = headers["lophoc-timestamp"], headers["lophoc-signature"]
    expected = "v1=" + hmac.new(hook.secret.encode(), f"{ts}.".encode() + body, "sha256").hexdigest()
    check(hmac.compare_digest(expected, signature), f"signature: {signature}")
    check(abs(time.time() - int(ts)) < 300, f"timestamp: {ts}")
    event = json.loads(body)
    check(event["type"] == "enrolment.promoted" and event["id"] == headers["lophoc-event-id"], f"event: {event}")
    check(event["data"]["enrolment_id"] == str(second.id), f"promoted place: {event['data']}")
    log: DeliveryPage | None = None
    for _ in range(100):
        log = expect(list_deliveries.sync_detailed(hook.id, client=admin), 200, DeliveryPage, "deliveries")
        if log.items and log.items[0].status == DeliveryStatus.DELIVERED:
            break
        time.sleep(0.1)
    check(log is not None and [d.status for d in log.items] == [DeliveryStatus.DELIVERED], f"log: {log}")

    # The session's trainer takes the roll-call (admins may too).
    trainer = sign_in(trainer_user.email, trainer_password)
    code = expect(
        open_check_in.sync_detailed(session.id, client=trainer), 201, CheckInCodeResponse, "open check-in"
    )
    check(len(code.code) == 6 and code.code.isdigit(), f"code: {code.code!r}")
    marks = expect(
        put_attendance.sync_detailed(
            session.id, client=trainer,
            body=PutAttendanceRequest(marks=[MarkInput(participant_id=people[1].id, status=AttendanceStatus.PRESENT)]),
        ),
        200, PutAttendanceResponse, "mark attendance",
    )
    check([m.status for m in marks.marks] == [AttendanceStatus.PRESENT], f"marks: {marks.marks}")
    refused = expect(
        put_attendance.sync_detailed(
            session.id, client=trainer,
            body=PutAttendanceRequest(marks=[MarkInput(participant_id=people[0].id, status=AttendanceStatus.PRESENT)]),
        ),
        422, Problem, "mark a cancelled place",
    )
    check(refused.code == "not_enrolled", f"refusal code: {refused.code}")
    roll = expect(roll_call.sync_detailed(session.id, client=trainer), 200, RollCallEntryPage, "roll-call")
    check(
        [(e.participant.id, e.mark and e.mark.status) for e in roll.items]
        == [(people[1].id, AttendanceStatus.PRESENT)],
        f"roll-call: {roll.items}",
    )

    # The trainer's calendar feed, read as a calendar app would: without a
    # token, by a standard iCalendar parser.
    feed = expect(renew_feed.sync_detailed(client=trainer), 201, CalendarFeedResponse, "calendar feed")
    calendar = icalendar.Calendar.from_ical(urllib.request.urlopen(feed.url, timeout=10).read())
    events = list(calendar.walk("VEVENT"))
    check([str(e["UID"]) for e in events] == [f"{session.id}@lophoc"], f"feed events: {events}")
    check(events[0].decoded("DTSTART") == session.starts_at, f"start: {events[0].decoded('DTSTART')}")
    check(str(events[0]["STATUS"]) == "CONFIRMED", f"status: {events[0]['STATUS']}")

    # Statistics of this course only: one group (both people share category
    # and unit), the cancelled place counted apart, one person attended.
    keys = [GroupKey.CATEGORY, GroupKey.ORGANIZATION]
    stats = expect(
        enrolment_stats.sync_detailed(client=admin, course_id=course.id, group_by=keys), 200, Stats, "stats (JSON)"
    )
    t = stats.totals
    got = (t.enrolled, t.waitlisted, t.cancelled, t.attended, t.people, t.people_attended)
    check(got == (1, 0, 1, 1, 1, 1), f"totals: {t}")
    check(t.attendance_rate is None, "no attendance rate before the session ends")
    check(stats.group_by == keys and len(stats.rows) == 1, f"rows: {stats.rows}")
    row = stats.rows[0]
    check(row.category == Category.LEARNER and row.organization_id == unit.id, f"row: {row}")

    text = expect(
        enrolment_stats_csv.sync_detailed(client=admin, course_id=course.id, group_by=keys), 200, File, "stats (CSV)"
    )
    lines = table(text)
    check(lines[0][:3] == ["Category", "Unit", "Enrolled"], f"CSV header: {lines[0]}")
    check(len(lines) == 3 and lines[2][0] == "Total", f"CSV: header, one row, totals: {lines}")
    sheet = expect(
        enrolment_stats_xlsx.sync_detailed(client=admin, course_id=course.id, group_by=keys), 200, File, "stats (XLSX)"
    )
    check(sheet.payload.read(2) == b"PK", "an XLSX file is a ZIP archive")

    # In Vietnamese, as an official would download it.
    text = expect(
        export_enrolments_csv.sync_detailed(client=admin, course_id=course.id, lang=Lang.VI),
        200,
        File,
        "export (CSV)",
    )
    header, *rows = table(text)
    status, attendance = header.index("Ghi danh"), header.index("Điểm danh")
    check(
        sorted((r[status], r[attendance]) for r in rows) == [("Đã ghi danh", "Có mặt"), ("Đã hủy", "")],
        f"export rows: {rows}",
    )
    sheet = expect(export_enrolments_xlsx.sync_detailed(client=admin, course_id=course.id), 200, File, "export (XLSX)")
    check(sheet.payload.read(2) == b"PK", "an XLSX file is a ZIP archive")
    print("python flow: every step as expected")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:4])
    except AssertionError as failure:
        print(f"FAIL {failure}", file=sys.stderr)
        sys.exit(1)
