"""The one data converter every Temporal client, worker, replayer and test environment of
Dripstone uses: pydantic models in, AES-GCM encrypted payloads out."""

import dataclasses

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from codec.aes_gcm import EncryptionCodec
from codec.keys import CodecKeys, local_keys, parse_keys


def codec_keys(settings) -> CodecKeys:
    if settings.codec_keys:
        return parse_keys(settings.codec_keys, settings.codec_current_key)
    return local_keys(settings.data_dir)


def codec_for(settings) -> EncryptionCodec:
    keys = codec_keys(settings)
    return EncryptionCodec(keys.keys, keys.current)


def data_converter(settings) -> DataConverter:
    return dataclasses.replace(pydantic_data_converter, payload_codec=codec_for(settings))
