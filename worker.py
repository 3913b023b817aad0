"""Composition root: settings -> database -> provider adapters -> activities -> worker."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import structlog
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.conditions import ConditionActivities
from activities.contact_changes import ContactChangeActivities
from activities.messaging import MessagingActivities
from activities.outbox import Outbox
from activities.ports import EmailSender, SmsSender
from projections.database import make_engine, migrate
from routing.router import Router
from settings import Settings
from workflows.journey import JourneyWorkflow

ACTIVITY_THREADS = 16


async def connect(settings: Settings) -> Client:
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=pydantic_data_converter)


def open_database(settings: Settings) -> Engine:
    engine = make_engine(settings.resolved_database_url)
    migrate(engine)
    return engine


def email_sender(settings: Settings, engine: Engine) -> EmailSender:
    if settings.email_provider == "sendgrid":
        from activities.sendgrid_email import SendGridEmail

        return SendGridEmail(settings.sendgrid_api_key, settings.sendgrid_base_url)
    return Outbox(engine, "email")


def sms_sender(settings: Settings, engine: Engine) -> SmsSender:
    if settings.sms_provider == "twilio":
        from activities.twilio_sms import TwilioSms

        return TwilioSms(settings.twilio_account_sid, settings.twilio_auth_token,
                         settings.twilio_from_number, settings.twilio_messaging_service_sid,
                         settings.twilio_base_url)
    return Outbox(engine, "sms")


def activities_for(settings: Settings, engine: Engine, client: Client | None = None,
                   email: EmailSender | None = None, sms: SmsSender | None = None) -> list:
    """`client` lets contact changes made by journeys route to other flows' triggers."""
    router = Router(client, engine, settings.task_queue) if client is not None else None
    messaging = MessagingActivities(engine, email or email_sender(settings, engine),
                                    sms or sms_sender(settings, engine), settings.email_from)
    return [
        messaging.send_email,
        messaging.send_sms,
        ContactChangeActivities(engine, router).change_contact,
        ConditionActivities(engine).evaluate_condition,
    ]


def build_worker(client: Client, settings: Settings, activities: list) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[JourneyWorkflow],
        activities=activities,
        activity_executor=ThreadPoolExecutor(ACTIVITY_THREADS),
        max_concurrent_activities=ACTIVITY_THREADS,
    )


async def main() -> None:
    settings = Settings()
    engine = open_database(settings)
    client = await connect(settings)
    structlog.get_logger("dripstone.worker").info("worker.starting", task_queue=settings.task_queue)
    await build_worker(client, settings, activities_for(settings, engine, client)).run()


if __name__ == "__main__":
    asyncio.run(main())
