"""Admins keep the agencies and the accounts: ``/api/admin/agencies`` and
``/api/admin/users``. Every route admits admins only; the rules are ``geo.agencies`` and
``geo.accounts``'."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from api.auth import requires
from api.problems import Problem, documented
from api.writer import Writer, writer
from geo import accounts, agencies
from geo.accounts import Refused

router = APIRouter(prefix="/api/admin", tags=["admin"], dependencies=[Depends(requires("admin"))])
Store = Annotated[Writer, Depends(writer)]
AgencyCode = Annotated[str, Path(max_length=40, pattern=agencies.CODE)]
UserId = Annotated[int, Path(alias="id", ge=1, lt=2**63)]
REFUSALS: dict[int | str, dict[str, Any]] = {
    404: documented("There is no such agency or account."),
    409: documented(
        "The code or the e-mail address is taken, or the change would leave the "
        "portal without an active admin."
    ),
    422: documented("Fields that cannot be stored, each with its reason."),
}
T = TypeVar("T")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewAgency(Body):
    code: str = Field(max_length=40, description="How projects and accounts name it")
    name: dict[str, str] = Field(description="Language -> name, the city's default at least")
    phone: str | None = Field(default=None, max_length=40)


class AgencyChange(Body):
    name: dict[str, str] | None = Field(default=None, description="Replaces every language")
    phone: str | None = Field(default=None, max_length=40, description="null or empty: none")


class NewAccount(Body):
    email: str = Field(max_length=254)
    name: str = Field(max_length=200)
    role: str = Field(description=f"One of: {', '.join(accounts.ROLES)}")
    password: str = Field(max_length=1000, description=f"{accounts.MIN_PASSWORD}+ characters")
    agency: str | None = Field(default=None, max_length=40, description="An official's")
    contractor: str | None = Field(default=None, max_length=200, description="A contractor's")


class AccountChange(Body):
    name: str | None = Field(default=None, max_length=200)
    role: str | None = None
    agency: str | None = Field(default=None, max_length=40)
    contractor: str | None = Field(default=None, max_length=200)
    active: bool | None = Field(default=None, description="false disables it, and its tokens")
    password: str | None = Field(default=None, max_length=1000, description="A new password")


async def _write(store: Writer, work: Callable[[Connection], T]) -> T:
    """Run a change; a refusal becomes its problem (nothing of it was stored)."""
    try:
        return await store.transaction(work)
    except Refused as refused:
        raise Problem(refused.status, str(refused), param=refused.errors[0][0],
                      errors=refused.errors) from None  # fmt: skip


@router.get("/agencies", response_model=list[agencies.Agency])
async def list_agencies(store: Store) -> list[agencies.Agency]:
    """Every agency, with or without projects."""
    return await store.transaction(agencies.agencies_list)


@router.post("/agencies", response_model=agencies.Agency, status_code=201, responses=REFUSALS)
async def add_agency(body: NewAgency, store: Store) -> agencies.Agency:
    """A new agency."""
    return await _write(
        store, lambda conn: agencies.create_agency(conn, body.code, body.name, body.phone)
    )


@router.patch("/agencies/{code}", response_model=agencies.Agency, responses=REFUSALS)
async def change_agency(code: AgencyCode, body: AgencyChange, store: Store) -> agencies.Agency:
    """Change an agency's name or phone; its code stays (projects name it)."""
    changes = body.model_dump(exclude_unset=True)
    return await _write(store, lambda conn: agencies.update_agency(conn, code, changes))


@router.get("/users", response_model=list[accounts.Account])
async def list_accounts(store: Store) -> list[accounts.Account]:
    """Every account (never its password)."""
    return await store.transaction(accounts.accounts_list)


@router.post("/users", response_model=accounts.Account, status_code=201, responses=REFUSALS)
async def add_account(body: NewAccount, store: Store) -> accounts.Account:
    """A new account."""
    user = accounts.NewUser(**body.model_dump())
    return await _write(store, lambda conn: accounts.account(conn, accounts.add_user(conn, user)))


@router.patch("/users/{id}", response_model=accounts.Account, responses=REFUSALS)
async def change_account(user_id: UserId, body: AccountChange, store: Store) -> accounts.Account:
    """Change an account's name, role, agency or contractor; disable or enable it (disabling
    revokes its tokens at once); or give it a new password (which revokes them too)."""
    changes = body.model_dump(exclude_unset=True)
    return await _write(store, lambda conn: accounts.update_user(conn, user_id, changes))
