"""The Microsoft Graph directory calls the set-up makes (httpx, verified TLS), each a small typed method.

The calls are those CLI for Microsoft 365 makes in src/utils/entraApp.ts (`m365 entra app add
--grantAdminConsent`): POST /applications, POST /servicePrincipals, POST /servicePrincipals/{resource}/
appRoleAssignedTo, POST /oauth2PermissionGrants; plus /organization, addKey/removeKey and DELETE.
Failures become `DirectoryError` with Graph's error code; `diagnosis.py` words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from wizard.services.m365.endpoints import Endpoints


@dataclass(frozen=True)
class Tenant:
    id: str
    name: str
    verified_domains: tuple[str, ...]


@dataclass(frozen=True)
class ResourcePrincipal:
    id: str  # the service principal's object id in this tenant
    app_id: str
    name: str
    app_roles: dict[str, str]  # value -> id (application permissions)
    scopes: dict[str, str]  # value -> id (delegated permissions)


class DirectoryError(Exception):
    def __init__(self, step: str, status: int, code: str, message: str) -> None:
        super().__init__(f"{step}: {status} {code}: {message}")
        self.step, self.status, self.code, self.message = step, status, code, message


class Directory:
    """Graph as the signed-in admin (or as the app itself, for addKey/removeKey). Use `async with`."""

    def __init__(self, endpoints: Endpoints, access_token: str, timeout_s: float = 30.0) -> None:
        self.base = endpoints.graph_api
        self._client = httpx.AsyncClient(verify=endpoints.tls_context(), timeout=timeout_s,
                                         headers={"Authorization": f"Bearer {access_token}"})

    async def __aenter__(self) -> Directory:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def _request(self, step: str, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        try:
            response = await self._client.request(method, f"{self.base}{path}", json=body)
        except httpx.HTTPError as exc:
            raise DirectoryError(step, 0, "network", f"{type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            try:
                error = response.json().get("error", {})
            except ValueError:
                error = {}
            raise DirectoryError(step, response.status_code, str(error.get("code", "")),
                                 str(error.get("message", response.reason_phrase)))
        return response.json() if response.content else None

    async def tenant(self) -> Tenant:
        answer = await self._request("Reading the tenant", "GET", "/organization")
        organization = (answer.get("value") or [{}])[0]
        domains = tuple(str(d["name"]).lower() for d in organization.get("verifiedDomains", []))
        return Tenant(str(organization.get("id", "")), str(organization.get("displayName", "")), domains)

    async def resource(self, app_id: str) -> ResourcePrincipal | None:
        try:
            found = await self._request("Finding the API's service principal", "GET",
                                        f"/servicePrincipals(appId='{app_id}')")
        except DirectoryError as exc:
            if exc.status == 404:
                return None
            raise
        roles = {str(r["value"]): str(r["id"]) for r in found.get("appRoles", []) if r.get("value")}
        scopes = {str(s["value"]): str(s["id"]) for s in found.get("oauth2PermissionScopes", []) if s.get("value")}
        return ResourcePrincipal(str(found["id"]), app_id, str(found.get("displayName", "")), roles, scopes)

    async def create_application(self, body: dict[str, Any]) -> dict[str, Any]:
        created: dict[str, Any] = await self._request("Registering the app", "POST", "/applications", body)
        return created

    async def create_service_principal(self, app_id: str) -> str:
        created = await self._request("Creating the app's service principal", "POST", "/servicePrincipals",
                                      {"appId": app_id})
        return str(created["id"])

    async def assign_app_role(self, principal_id: str, resource_id: str, role_id: str) -> str:
        created = await self._request("Granting the application permission", "POST",
                                      f"/servicePrincipals/{resource_id}/appRoleAssignedTo",
                                      {"principalId": principal_id, "resourceId": resource_id, "appRoleId": role_id})
        return str(created["id"])

    async def grant_delegated(self, client_id: str, resource_id: str, scope: str) -> str:
        created = await self._request("Granting the delegated permissions", "POST", "/oauth2PermissionGrants",
                                      {"clientId": client_id, "consentType": "AllPrincipals", "resourceId": resource_id,
                                       "scope": scope})
        return str(created["id"])

    async def application(self, object_id: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = await self._request("Reading the app", "GET", f"/applications/{object_id}")
        except DirectoryError as exc:
            if exc.status == 404:
                return None
            raise
        return found

    async def _optional(self, step: str, path: str) -> Any:
        try:
            return await self._request(step, "GET", path)
        except DirectoryError as exc:
            if exc.status == 404:
                return None
            raise

    async def service_principal(self, app_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self._optional("Reading the app's service principal",
                                                            f"/servicePrincipals(appId='{app_id}')")
        return found

    async def principal(self, object_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = await self._optional("Reading a service principal",
                                                            f"/servicePrincipals/{object_id}")
        return found

    async def app_role_assignments(self, principal_id: str) -> list[dict[str, Any]]:
        found = await self._request("Reading the granted application permissions", "GET",
                                    f"/servicePrincipals/{principal_id}/appRoleAssignments")
        return list(found.get("value", []))

    async def delegated_grants(self, principal_id: str) -> list[dict[str, Any]]:
        found = await self._request("Reading the granted delegated permissions", "GET",
                                    f"/servicePrincipals/{principal_id}/oauth2PermissionGrants")
        return list(found.get("value", []))

    async def delete_application(self, object_id: str) -> bool:
        """Deletes the app (its service principal and grants go with it). False when it was already gone."""
        try:
            await self._request("Deleting the app", "DELETE", f"/applications/{object_id}")
        except DirectoryError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    async def add_key(self, object_id: str, key_credential: dict[str, Any], proof: str) -> str:
        added = await self._request("Adding the new certificate", "POST", f"/applications/{object_id}/addKey",
                                    {"keyCredential": key_credential, "passwordCredential": None, "proof": proof})
        return str(added["keyId"])

    async def remove_key(self, object_id: str, key_id: str, proof: str) -> None:
        await self._request("Removing the old certificate", "POST", f"/applications/{object_id}/removeKey",
                            {"keyId": key_id, "proof": proof})
