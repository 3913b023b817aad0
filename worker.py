"""Composition root: settings -> database -> provider adapters -> activities -> worker."""

import asyncio
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import structlog
from pydantic import ValidationError
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.backfill import backfill_activities
from activities.compose import AttachmentFetcher, MessagingOptions
from activities.conditions import ConditionActivities
from activities.contact_changes import ContactChangeActivities
from activities.delivery import Delivery
from activities.experiments import ExperimentActivities, wall_clock
from activities.journey_control import JourneyControlActivities
from activities.journey_index import JourneyIndexActivities
from activities.journey_migration import MigrationActivities
from activities.mailing_delivery import MailingDelivery
from activities.mailings import mailing_activities
from activities.messaging import MessagingActivities
from activities.outbox import Outbox
from activities.pace import Pace
from activities.ports import EmailSender, SmsSender
from activities.scheduling import SchedulingActivities
from activities.scripts import ScriptActivities, load_scripts
from activities.step_reports import StepReportActivities
from activities.team_notify import TeamNotifyActivities
from activities.voice import VoiceActivities, voice_caller
from activities.voice_port import VoiceCaller
from activities.webhooks import WebhookActivities
from codec.client import TemporalUnreachable, connect  # connect re-exported: worker.connect
from codec.context_free_runner import runner_for
from domain.scheduling.zones import Zones
from health.server import HealthServer, probes
from projections.database import make_engine, migrate, open_checked
from projections.schema_version import SchemaError
from routing.controls import JourneyControls
from routing.dispatch import Dispatcher
from routing.journey_migrations import JourneyMigrator
from routing.reindex import index_incomplete, reindex_journeys
from routing.router import Router
from settings import Settings, settings_problems
from telemetry.logs import configure_logging
from telemetry.tracing import shutdown as flush_traces
from telemetry.worker_metrics import MetricsInterceptor
from workflows.backfill import BackfillWorkflow
from workflows.flow_control import FlowControlWorkflow
from workflows.journey import JourneyWorkflow
from workflows.mailing import MailingWorkflow
from workflows.migration import MigrationWorkflow
from workflows.script_run import ScriptRunWorkflow


def open_database(settings: Settings) -> Engine:
    """The configured database, once its schema is one this release works with; else
    SchemaBehind / SchemaUnknown saying what to do. Never migrates: only `dripstone db
    migrate` and the dev stack do, so processes starting together never race."""
    return open_checked(
        settings.resolved_database_url, settings.database_pool_size, settings.database_max_overflow
    )


def open_and_migrate(settings: Settings) -> Engine:
    """The configured database, migrated to this release's head first: for `dripstone db
    migrate` and the dev stack (which owns its database), never for workers or the API."""
    engine = make_engine(settings.resolved_database_url)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def email_sender(settings: Settings, engine: Engine) -> EmailSender:
    if settings.email_provider == "sendgrid":
        from activities.sendgrid_email import SendGridEmail

        return SendGridEmail(settings.sendgrid_api_key, settings.sendgrid_base_url)
    return Outbox(engine, "email")


def sms_sender(settings: Settings, engine: Engine) -> SmsSender:
    if settings.sms_provider == "twilio":
        from activities.twilio_sms import TwilioSms

        return TwilioSms(
            settings.twilio_account_sid,
            settings.twilio_auth_token,
            settings.twilio_from_number,
            settings.twilio_messaging_service_sid,
            settings.twilio_base_url,
            settings.twilio_status_callback_url,
        )
    return Outbox(engine, "sms")


def activities_for(
    settings: Settings,
    engine: Engine,
    client: Client | None = None,
    email: EmailSender | None = None,
    sms: SmsSender | None = None,
    voice: VoiceCaller | None = None,
    webhooks: WebhookActivities | None = None,
    scripts: dict | None = None,
    experiment_clock: Callable[[], datetime] = wall_clock,
    attachments: AttachmentFetcher | None = None,
    options: MessagingOptions | None = None,
) -> list:
    """`client` lets contact changes made by journeys route to other flows' triggers.
    The ports (email, sms, voice, webhooks, scripts, attachment downloads) default to the
    configured ones; a simulation passes recorders instead, so the activity list itself
    exists only here. `options`: the configured ones unless given (a simulation's links
    change nothing).
    `experiment_clock`: when experiments assign and measure (tests move it forward)."""
    router = (
        Router(
            client,
            engine,
            settings.task_queue,
            local_sends=settings.local_sends,
            flow_cache_size=settings.live_flows_cache_size,
        )
        if client is not None
        else None
    )
    index = JourneyIndexActivities(engine)
    reports = StepReportActivities(engine)
    email = email or email_sender(settings, engine)
    sms = sms or sms_sender(settings, engine)
    options = options or MessagingOptions.from_settings(settings)
    pace = Pace(engine, settings.provider_rates)
    messaging = MessagingActivities(
        engine, email, sms, settings.email_from, options, pace, attachments
    )
    delivery = MailingDelivery(
        engine,
        email,
        sms,
        settings.email_from,
        options,
        pace,
        flow_cache_size=settings.live_flows_cache_size,
    )
    zones = Zones.from_settings(settings)
    return [
        messaging.send_email,
        messaging.send_sms,
        ContactChangeActivities(engine).change_contact,
        ContactChangeActivities(engine, settings.lead_routers).apply_contact_change,
        index.record_journey,
        reports.record_step,
        reports.record_progress,
        ExperimentActivities(engine, experiment_clock).choose_variant,
        ConditionActivities(engine, zones).evaluate_condition,
        *callout_activities(
            settings, engine, messaging.delivery, email, sms, voice, webhooks, scripts
        ),
        *timing_activities(settings, engine, client, router),
        *backfill_activities(engine, router),
        *mailing_activities(engine, delivery, zones),
    ]


def timing_activities(
    settings: Settings, engine: Engine, client: Client | None, router: Router | None
) -> list:
    """Local times, and journeys acting on other journeys (those need the client)."""
    planner = SchedulingActivities(
        engine, settings.default_time_zone, settings.phone_default_region
    ).plan_wake
    if client is None or router is None:
        return [planner]
    control = JourneyControlActivities(engine, router, JourneyControls(client, engine))
    migrations = MigrationActivities(JourneyMigrator(client, engine))
    return [
        planner,
        control.published_flow,
        control.enroll_in_flow,
        control.control_journey,
        control.signal_flow_page,
        migrations.migrate_journey_page,
    ]


def callout_activities(
    settings: Settings,
    engine: Engine,
    delivery: Delivery,
    email: EmailSender,
    sms: SmsSender,
    voice: VoiceCaller | None = None,
    webhooks: WebhookActivities | None = None,
    scripts: dict | None = None,
) -> list:
    """Webhook, phone call, notify team and the script runner's activities. Calls and
    team notifications share send_email/send_sms's delivery core (one set of rules)."""
    webhooks = webhooks or WebhookActivities(
        engine, settings.webhook_signing_secret, settings.webhook_allow_private_targets
    )
    scripts = ScriptActivities(
        engine, load_scripts(settings.scripts_module) if scripts is None else scripts
    )
    return [
        webhooks.call_webhook,
        VoiceActivities(delivery, voice or voice_caller(settings, engine)).place_call,
        TeamNotifyActivities(
            delivery, email, sms, settings.email_from, settings.team_email, settings.team_phone
        ).notify_team,
        scripts.run_script,
        scripts.record_script_failed,
    ]


def workflow_runner() -> SandboxedWorkflowRunner:
    """Our workflow modules are imported once, not again for every run: re-running
    workflows/journey.py for each journey cost about as much worker CPU as its steps.
    domain/ goes with them (pure by contract), so a model a workflow module imported is
    the same class inside the sandbox (else pydantic finds two of it and refuses). The
    sandbox's import-time checks no longer catch a non-deterministic call there: the
    stored histories' replay, run with this runner, does. No module there holds state."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "domain")
    )


def build_worker(
    client: Client,
    settings: Settings,
    activities: list,
    extra_workflows: tuple = (),
    counted: bool = True,
) -> Worker:
    """`extra_workflows`: beside the product's own (the enrollment bench's baseline).
    `counted`: False for a simulation's worker, whose sends are not the deployment's."""
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[
            JourneyWorkflow,
            ScriptRunWorkflow,
            BackfillWorkflow,
            FlowControlWorkflow,
            MailingWorkflow,
            MigrationWorkflow,
            *extra_workflows,
        ],
        activities=activities,
        # Counts sends, provider errors and journey ends; tracing comes with the client.
        interceptors=[MetricsInterceptor()] if counted else [],
        # Sync activities run in these threads: one slot per thread, so none waits for one.
        workflow_runner=runner_for(client.data_converter, workflow_runner()),
        activity_executor=ThreadPoolExecutor(settings.worker_activity_threads),
        max_concurrent_activities=settings.worker_activity_threads,
        max_concurrent_workflow_tasks=settings.worker_workflow_tasks,
        # Long enough for an in-flight send to finish and be recorded before the process
        # goes; what is cut short is retried by Temporal on another worker.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_seconds),
    )


async def main() -> None:
    settings = Settings()
    configure_logging(settings)
    engine = open_database(settings)
    client = await connect(settings, sdk_metrics=True)
    log = structlog.get_logger("dripstone.worker")
    log.info(
        "worker.starting",
        task_queue=settings.task_queue,
        temporal=settings.temporal_address,
        tls=settings.temporal_tls_enabled,
    )
    if index_incomplete(engine):  # first start after the 0007 migration
        log.info("journey_index.reindexed", journeys=await reindex_journeys(client, engine))
    dispatcher = Dispatcher.from_settings(
        settings,
        engine,
        Router(
            client,
            engine,
            settings.task_queue,
            local_sends=settings.local_sends,
            flow_cache_size=settings.live_flows_cache_size,
        ),
    )
    stop = asyncio.Event()
    retries = asyncio.create_task(dispatcher.run(stop))
    worker = build_worker(client, settings, activities_for(settings, engine, client))
    health = None
    if settings.worker_health_port:
        health = HealthServer(
            probes(
                engine,
                client,
                asyncio.get_running_loop(),
                lambda: worker.is_running and not worker.is_shutdown,
            ),
            settings.worker_health_port,
        )
        health.start()
    try:
        await worker.run()
    finally:
        stop.set()
        await retries
        if health is not None:
            health.stop()
        flush_traces()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (SchemaError, TemporalUnreachable) as exc:
        raise SystemExit(f"error: {exc}") from None
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        print(f"error: settings: {settings_problems(exc)}", file=sys.stderr)
        raise SystemExit(2) from None
