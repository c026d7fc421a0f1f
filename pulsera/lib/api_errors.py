"""One error body for every API failure.

Every error a client can cause answers with the same shape:

    {"error": {"code": "validation_error", "message": "...", "fields": {"heart_rate": ["..."]}}}

`fields` is present only for validation errors. A client's mistake is never a 500: oversized
bodies answer 413, malformed JSON 400, unknown ids 404.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class DomainConflict(Exception):
    """A request that is well-formed but conflicts with the current state (answers 409).
    Domain exceptions subclass it, e.g. episodes' IllegalTransition."""

    code = "conflict"


def error_body(code: str, message: str, fields: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = fields
    return {"error": body}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        return Response(
            error_body("request_too_large", "The request body is larger than this server accepts."),
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, DomainConflict):
        return Response(error_body(exc.code, str(exc)), status=status.HTTP_409_CONFLICT)
    if isinstance(exc, SuspiciousOperation):
        return Response(error_body("bad_request", "The request was malformed."), status=400)
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None  # a real server bug: let Django log it and answer 500
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail
        if isinstance(detail, dict):
            response.data = error_body("validation_error", "Some fields are invalid.", detail)
        else:
            messages = detail if isinstance(detail, list) else [detail]
            response.data = error_body(
                "validation_error", " ".join(str(m) for m in messages), {"non_field_errors": messages}
            )
    elif isinstance(exc, exceptions.APIException):
        detail = exc.detail
        message = str(detail) if not isinstance(detail, dict | list) else "Request failed."
        response.data = error_body(str(getattr(detail, "code", exc.default_code)), message)
    return response


def api_not_found(request: HttpRequest, exception: Exception | None = None, **kwargs: object) -> JsonResponse:
    return JsonResponse(error_body("not_found", f"No API endpoint at {request.path}."), status=404)
