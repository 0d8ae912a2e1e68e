<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr_FR">
<!-- Strings of Qt's own dialogs that Qt's French catalogue (qtbase_fr) leaves in English.
     Compiled with: pyside6-lrelease guichet_qt_fr.ts -qm guichet_qt_fr.qm -->
<context>
    <name>QFileDialog</name>
    <message>
        <source>&amp;Look in:</source>
        <translation>&amp;Regarder dans :</translation>
    </message>
    <message>
        <source>Look &amp;in:</source>
        <translation>&amp;Regarder dans :</translation>
    </message>
    <message>
        <source>Files of &amp;type:</source>
        <translation>&amp;Type de fichier :</translation>
    </message>
    <message>
        <source>&amp;File name:</source>
        <translation>&amp;Nom du fichier :</translation>
    </message>
</context>
</TS>
