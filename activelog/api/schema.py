"""The OpenAPI schema's shared parts.

``ActiveLogAutoSchema`` (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS) gives every operation the problem
responses it can answer with, as ``application/problem+json`` with the Problem body, and the
response headers the server sends. They are derived from what the operation is (authenticated or
not, with a path id, with a body or query parameters, throttled), so views declare only their
successful responses and what is particular to them: a view's own entry for an error status keeps
its description and still gets the Problem body.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import ProhibitNullCharactersValidator
from django_filters import NumberFilter
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent, build_media_type_object, force_instance
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_serializer
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import AllowAny

from activelog.api.errors import PROBLEM_BASE, PROBLEM_CONTENT_TYPE

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
NO_NUL_PATTERN = r"^[^\x00]*$"


@extend_schema_serializer(component_name="Problem")
class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details: the body of every 4xx and 5xx answer under /api."""

    type = serializers.URLField(help_text=f"Stable URI of the kind of problem, e.g. {PROBLEM_BASE}not-found.")
    title = serializers.CharField(help_text="Short summary of the kind of problem.")
    status = serializers.IntegerField(help_text="The HTTP status code.")
    detail = serializers.CharField(help_text="What went wrong with this request.")
    instance = serializers.CharField(help_text="The request path.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors only: field or query parameter (nested items as field.index, "
        "errors of no single field under non_field_errors) -> messages.",
    )
    request_id = serializers.CharField(help_text="Equals the response's X-Request-ID header.")
    trace_id = serializers.CharField(required=False, help_text="The trace of the request, when tracing is on.")


def _header(description: str, schema: dict) -> dict:
    return {"description": description, "required": True, "schema": schema}


HEADERS = {
    "X-Request-ID": _header(
        "The request id: the request's own X-Request-ID when it is a sane token of at most 64 characters, "
        "otherwise a generated one. Quote it when reporting a problem.",
        {"type": "string"},
    ),
    "Retry-After": _header("Seconds to wait before trying again.", {"type": "integer", "minimum": 0}),
    "WWW-Authenticate": _header('The authentication challenge: Bearer realm="api".', {"type": "string"}),
}


def location_header(status: int, description: str) -> OpenApiParameter:
    """The Location response header of an operation that sends one (give it in ``parameters``)."""
    return OpenApiParameter(
        "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, required=True, response=[status],
        description=description,
    )


X_CACHE_HEADER = OpenApiParameter(
    "X-Cache", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, response=[200], enum=["HIT", "MISS"],
    description="HIT when the body came from the per-user statistics cache. Every write of yours (create, "
    "update, delete, restore, batch) is visible in the next statistics response either way.",
)


ETAG_HEADER = OpenApiParameter(
    "ETag", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True, response=[200, 304],
    description="The answer's entity tag. Send it back in If-None-Match: while your data, your time zone "
    "and your local day are unchanged, the answer is 304 Not Modified, without a body.",
)
IF_NONE_MATCH_HEADER = OpenApiParameter(
    "If-None-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="An ETag of an earlier answer (or several, comma-separated, or *): 304 when it is still current.",
)


def requires_one_of(*names: str):
    """A serializer decorator: the request body needs at least one of these (optional) fields.

    The schema says so with ``anyOf`` of ``required`` lists; the serializer's own validation
    enforces it.
    """

    def decorate(serializer_class):
        serializer_class.schema_requires_one_of = names
        return serializer_class

    return decorate


class SimpleJWTSubclassScheme(SimpleJWTScheme):
    """The project's JWT authentication extends simplejwt's (accounts.authentication): the same
    bearer scheme, jwtAuth."""

    match_subclasses = True
    priority = -1


class ActiveLogAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with the problem responses and headers of this API (see the
    module's docstring), DELETE bodies, and what DRF and django-filter enforce on input."""

    # --- responses -------------------------------------------------------------------------------

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required"):
                # The API's rule (SPECTACULAR_SETTINGS' description): ?name= is the same as no ?name.
                parameter["allowEmptyValue"] = True
        responses = operation["responses"]
        problems = self._problem_statuses(operation)
        for status, description in problems.items():
            responses.setdefault(status, {"description": description})
        problem = {PROBLEM_CONTENT_TYPE: build_media_type_object(self._problem_ref())}
        for status, response in responses.items():
            if int(status) >= 400:
                response["content"] = problem
                response["description"] = response.get("description") or problems.get(status, "Problem details.")
            headers = response.setdefault("headers", {})
            for name in self._header_names(int(status)):
                headers.setdefault(name, self._header_ref(name))
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _problem_statuses(self, operation: dict) -> dict[str, str]:
        """Status -> description of the problems this operation can answer with."""
        has_body = "requestBody" in operation
        has_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        has_path_id = any(p["in"] == "path" for p in operation.get("parameters", []))
        authenticated = not any(isinstance(p, AllowAny) for p in self.view.get_permissions())
        with_session = any(isinstance(a, SessionAuthentication) for a in self.view.get_authenticators())
        statuses = {}
        if has_body:
            statuses["400"] = (
                "Validation failed, or the body is not valid JSON: `errors` names each invalid field"
                + (" or query parameter." if has_query else ".")
            )
        elif has_query:
            statuses["400"] = "A query parameter is invalid: `errors` names it."
        if authenticated:
            statuses["401"] = "Not authenticated: no credentials, or an expired or invalid access token."
            if self.method in UNSAFE_METHODS and with_session:
                statuses["403"] = "CSRF check failed (signed-in browser sessions only; bearer tokens need none)."
        if has_path_id:
            statuses["404"] = "Not found: it does not exist, or it belongs to another user."
        if has_body:
            limit_mb = settings.DATA_UPLOAD_MAX_MEMORY_SIZE / (1024 * 1024)
            statuses["413"] = f"The request body is larger than {limit_mb:g} MB."
            media_types = " or ".join(operation["requestBody"]["content"])
            statuses["415"] = f"The body is not {media_types}."
        if self.view.get_throttles():
            statuses["429"] = "Too many requests: wait for Retry-After seconds."
        statuses["500"] = "Unexpected error; it is logged with the request id."
        statuses["503"] = (
            "A service this request depends on (such as the database) is unavailable or too slow: retry after "
            "Retry-After seconds."
        )
        return statuses

    def _problem_ref(self) -> dict:
        return self.resolve_serializer(ProblemSerializer, "response").ref

    @staticmethod
    def _header_names(status: int) -> list[str]:
        names = ["X-Request-ID"]
        if status in (429, 503):
            names.append("Retry-After")
        if status == 401:
            names.append("WWW-Authenticate")
        return names

    def _header_ref(self, name: str) -> dict:
        component = ResolvedComponent(name=name, type=ResolvedComponent.HEADER, schema=HEADERS[name], object=name)
        self.registry.register_on_missing(component)
        return component.ref

    # --- request bodies --------------------------------------------------------------------------

    def _get_request_body(self, direction="request"):
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        # DRF reads a DELETE body like any other, but spectacular documents bodies of POST, PUT and
        # PATCH only: a DELETE gets one when its @extend_schema names a request.
        declared = self._declared_request()
        if declared is None:
            return None
        schema, required = self._get_request_for_media_type(declared, direction)
        if schema is None:
            return None
        body = {"content": {media_type: build_media_type_object(schema) for media_type in self.map_parsers()}}
        if required:
            body["required"] = True
        return body

    def _declared_request(self):
        """The request an @extend_schema names for this operation, or None. Without one,
        get_request_serializer falls back to the view's serializer, which describes other methods."""
        self._probing_request = True
        try:
            declared = self.get_request_serializer()
            fallback = AutoSchema.get_request_serializer(self)
        finally:
            self._probing_request = False
        if declared is None:
            return None
        if fallback is not None and type(force_instance(declared)) is type(force_instance(fallback)):
            return None
        return declared

    def _get_serializer(self):
        view = self.view
        names_one = isinstance(view, GenericAPIView) or any(
            hasattr(view, name) for name in ("get_serializer", "get_serializer_class", "serializer_class")
        )
        if getattr(self, "_probing_request", False) and not names_one:
            return None  # a plain APIView without a serializer: no guess, and no error about it
        return super()._get_serializer()

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        names = getattr(serializer, "schema_requires_one_of", None)
        if names and direction == "request" and not getattr(serializer, "partial", False):
            schema["anyOf"] = [{"required": [name]} for name in names]
        return schema

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.DecimalField)
            and field.decimal_places
            and schema.get("type") == "number"
        ):
            # What DRF enforces ("no more than 2 decimal places"). Requests only: some JSON Schema
            # validators get multipleOf wrong for binary floats (0.07 / 0.01 != 7).
            schema["multipleOf"] = float(Decimal(1).scaleb(-field.decimal_places))
        return schema

    def _insert_field_validators(self, field, schema):
        super()._insert_field_validators(field, schema)
        if (
            not field.read_only
            and isinstance(field, serializers.CharField)
            and any(isinstance(v, ProhibitNullCharactersValidator) for v in field.validators)
            and schema.get("type") == "string"
            and not {"pattern", "format", "enum"} & set(schema)
        ):
            schema["pattern"] = NO_NUL_PATTERN  # DRF refuses NUL in every text field

    # --- query parameters ------------------------------------------------------------------------

    def _get_filter_parameters(self):
        """Filters typed with @extend_schema_field lose their help text in spectacular's django-filter
        support, and the bounds the filter's form field enforces are not shown: taken from the filter."""
        parameters = super()._get_filter_parameters()
        filterset_class = getattr(self.view, "filterset_class", None)
        if filterset_class is None:
            return parameters
        for parameter in parameters:
            declared = filterset_class.base_filters.get(parameter["name"])
            if declared is None:
                continue
            help_text = declared.extra.get("help_text")
            if help_text and "description" not in parameter:
                parameter["description"] = str(help_text)
            schema = parameter["schema"]
            if isinstance(declared, NumberFilter):
                schema["type"] = "number"  # its form field is a DecimalField, whatever the column: 0.5 is accepted
            for bound, keyword in (("minimum", "min_value"), ("maximum", "max_value")):
                value = declared.extra.get(keyword)
                if value is not None and schema.get("type") in ("integer", "number"):
                    schema[bound] = int(value) if value == int(value) else float(value)
            if declared.extra.get("max_length") is not None and schema.get("type") == "string":
                schema["maxLength"] = declared.extra["max_length"]
        return parameters
