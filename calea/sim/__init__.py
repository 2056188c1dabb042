"""The carrier simulator: scenarios of calls, SMS, MMS and IP traffic delivered in standard
handover formats (ETSI TS 102 232, TS 101 671 HI2, PacketCable ES, 3GPP TS 33.108 MMS)
to the intake.

Modules: `scenario` (the model and its loaders), `build` (scenario -> per-connection
records), `plan` (records, numbering, keep-alives), `voip` / `ipflows` / `sip` /
`packets` / `audio` / `images` (what is on the wire), `carrier` (asyncio delivery), `streams`
(writing the byte streams to files), `cli` (`calea sim`).
"""
