"""Kannel as an SMPP client of the gateway's own SMPP server (``configs/kannel-smpp.conf``):
the same boxes, status, ``sendsms`` and diagnostics as :class:`~tests.peers.runners.Kannel`,
with an ``smsc = smpp`` bound as a transceiver instead of an AT modem."""

from __future__ import annotations

from pathlib import Path

from tests.peers.helpers import ManagedProcess, render_config
from tests.peers.runners import Kannel
from tests.support.ports import free_port


class KannelEsme(Kannel):
    @classmethod
    def bound_to(
        cls,
        work_dir: Path,
        *,
        port: int,
        system_id: str,
        password: str,
        mo_url: str,
        tls: bool = False,
        log_level: int = 0,
    ) -> KannelEsme:
        log_dir = work_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        admin_port, smsbox_port, sendsms_port = free_port(), free_port(), free_port()
        smsc_id = "gateway"
        config = render_config(
            "kannel-smpp.conf",
            work_dir / "kannel.conf",
            admin_port=admin_port,
            admin_password=cls.admin_password,
            smsbox_port=smsbox_port,
            sendsms_port=sendsms_port,
            log_dir=log_dir,
            smsc_id=smsc_id,
            port=port,
            use_ssl="true" if tls else "false",
            system_id=system_id,
            password=password,
            sendsms_user=cls.sendsms_user,
            sendsms_password=cls.sendsms_password,
            mo_url=mo_url,
            log_level=log_level,
        )
        return cls(
            config,
            log_dir,
            admin_port,
            smsbox_port,
            sendsms_port,
            smsc_id,
            ManagedProcess("bearerbox", ["bearerbox", "-v", "1", str(config)], log_dir),
            ManagedProcess("smsbox", ["smsbox", "-v", "1", str(config)], log_dir),
        )
