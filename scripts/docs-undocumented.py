#!/usr/bin/env python3
"""docs-undocumented.py XML_DIR — list every public name of Doxygen's XML
output that has no description: functions, typedefs, enums, enum constants,
macros, struct fields and structs.  Exit 1 if there is one.  Doxygen's own
WARN_IF_UNDOCUMENTED misses enum constants; this catches them too."""
import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def text(el):
    return ''.join(el.itertext()).strip() if el is not None else ''


def described(el):
    return bool(text(el.find('briefdescription')) or text(el.find('detaileddescription')))


def where(el):
    loc = el.find('location')
    return f"{loc.get('file')}:{loc.get('line')}" if loc is not None else '?'


missing = []
xml_dir = Path(sys.argv[1])
index = ET.parse(xml_dir / 'index.xml').getroot()
for comp in index.findall('compound'):
    kind = comp.get('kind')
    if kind not in ('file', 'struct', 'union'):
        continue
    root = ET.parse(xml_dir / (comp.get('refid') + '.xml')).getroot()
    for cd in root.findall('compounddef'):
        name = text(cd.find('compoundname'))
        if kind in ('struct', 'union') and not described(cd):
            missing.append(f'{where(cd)}: {kind} {name}')
        for md in cd.iter('memberdef'):
            mname = text(md.find('name'))
            if mname.startswith(('actr__', 'ACTR__')):
                continue
            if not described(md):
                missing.append(f"{where(md)}: {md.get('kind')} {mname} ({name})")
            for ev in md.findall('enumvalue'):
                if not described(ev):
                    missing.append(f"{where(md)}: enum constant {text(ev.find('name'))} ({mname})")
for m in sorted(set(missing)):
    print(f'undocumented: {m}')
sys.exit(1 if missing else 0)
