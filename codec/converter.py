"""The one data converter every Temporal client, worker, replayer and test environment of
Dripstone uses: pydantic models in, AES-GCM encrypted payloads out, and failures (whose
messages and stack traces can quote a contact's data: a provider refusing a phone
number, a webhook's answer) encoded into encrypted attributes as well."""

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes

from codec.aes_gcm import EncryptionCodec
from codec.keys import MAKE_A_KEY, CodecKeys, KeyConfigError, local_keys, parse_keys


def codec_keys(settings) -> CodecKeys:
    """DRIPSTONE_CODEC_KEYS when set. Otherwise the data folder's key file, but only on
    one machine (no DATABASE_URL): processes on several machines (a deployment's API and
    worker replicas) would each make a key of their own and not read each other's
    payloads, so with DATABASE_URL set and no keys the process refuses to start."""
    if settings.codec_keys:
        return parse_keys(settings.codec_keys, settings.codec_current_key)
    if settings.database_url:
        raise KeyConfigError(
            "DRIPSTONE_CODEC_KEYS is not set, and DATABASE_URL is: a deployment's worker and "
            "API processes must all hold the same codec keys (the key file in the data folder "
            f"is only for one machine, without DATABASE_URL); {MAKE_A_KEY}"
        )
    return local_keys(settings.data_dir)


def codec_for(settings) -> EncryptionCodec:
    keys = codec_keys(settings)
    return EncryptionCodec(keys.keys, keys.current)


def data_converter(settings) -> DataConverter:
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec_for(settings),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
