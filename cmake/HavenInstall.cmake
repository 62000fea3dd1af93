# What `cmake --install` puts where, and the Debian package (CPack's DEB
# generator, docs/DECISIONS.md "The Debian package is built by CPack").
# The daemons go to sbin and the CLI to bin (the targets say so); here the
# rest: systemd units generated from deploy/systemd/*.in with the paths of
# this build, the sysusers and tmpfiles snippets, /etc/haven, the examples,
# documents, manual pages and bash completion.

# Where systemd looks for units and snippets: Debian's /lib/systemd/system
# and /usr/lib/{sysusers,tmpfiles}.d for a package (prefix /usr), else under
# the prefix (/usr/local/lib/systemd/system... which systemd also reads).
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(hv_unitdir_default /lib/systemd/system)
else()
  set(hv_unitdir_default ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
set(HV_SYSTEMD_UNITDIR ${hv_unitdir_default} CACHE PATH "Where the systemd units go")
set(HV_SYSUSERSDIR ${CMAKE_INSTALL_PREFIX}/lib/sysusers.d CACHE PATH "sysusers.d directory")
set(HV_TMPFILESDIR ${CMAKE_INSTALL_PREFIX}/lib/tmpfiles.d CACHE PATH "tmpfiles.d directory")
# The daemons' configuration: /etc/haven whatever the prefix, as the units'
# ConfigurationDirectory=haven and every document say.
set(HV_CONFDIR /etc/haven CACHE PATH "Configuration directory of the daemons")

set(hv_gen ${CMAKE_CURRENT_BINARY_DIR}/deploy)
foreach(role broker intake router provider web)
  configure_file(deploy/systemd/haven-${role}@.service.in
                 ${hv_gen}/systemd/haven-${role}@.service @ONLY)
  install(FILES ${hv_gen}/systemd/haven-${role}@.service DESTINATION ${HV_SYSTEMD_UNITDIR})
endforeach()
configure_file(deploy/systemd/haven.tmpfiles.in ${hv_gen}/systemd/haven.tmpfiles @ONLY)
install(FILES deploy/systemd/haven.sysusers DESTINATION ${HV_SYSUSERSDIR} RENAME haven.conf)
install(FILES ${hv_gen}/systemd/haven.tmpfiles DESTINATION ${HV_TMPFILESDIR} RENAME haven.conf)

install(FILES deploy/etc/README DESTINATION ${HV_CONFDIR})
install(FILES deploy/example/network.json deploy/example/broker-xa.ini
        deploy/example/broker-xb.ini deploy/example/broker-xc.ini deploy/example/clinic-xc.ini
        deploy/example/legal-xc.ini deploy/example/ngo-xa.ini deploy/example/outreach-xc.ini
        deploy/example/router-xc.ini deploy/example/shelter-xc.ini
        deploy/example/transit-xb.ini
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES deploy/example/referrals/example-adult.json
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/referrals)
install(FILES README.md proto/PROTOCOL.md docs/OPERATIONS.md docs/REFERRAL.md docs/CONTROL.md docs/API.md
        docs/api/openapi.yaml
        docs/DECISIONS.md docs/referral.schema.json docs/referral-v1.schema.json DESTINATION ${CMAKE_INSTALL_DOCDIR})
# The workbench's pages, served by haven-web (HV_WEB_ASSETS_DEFAULT).
install(DIRECTORY web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/haven/web)
install(FILES docs/man/haven.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES docs/man/haven-broker.8 docs/man/haven-intake.8 docs/man/haven-router.8
        docs/man/haven-provider.8 docs/man/haven-web.8 DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES deploy/completion/haven DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# The package: `cpack -G DEB` in a build configured with
# -DCMAKE_INSTALL_PREFIX=/usr (tests/pkg/test_package.sh does it all).
foreach(script postinst prerm postrm)
  configure_file(deploy/debian/${script}.in ${hv_gen}/debian/${script} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE
                 WORLD_READ WORLD_EXECUTE)
endforeach()
file(WRITE ${hv_gen}/debian/conffiles "${HV_CONFDIR}/README\n")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME haven)
set(CPACK_PACKAGE_VENDOR "Haven")
set(CPACK_PACKAGE_CONTACT "Haven maintainers <maintainers@haven.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "store-and-forward network for referrals between NGOs, shelters and legal aid")
set(CPACK_PACKAGE_DESCRIPTION
    "Haven carries referrals of victims of human trafficking between organisations\n\
across borders: a broker per country, sealed envelopes, and the intake, router\n\
and provider workers, with the haven command-line tool.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON) # dpkg-shlibdeps names the libraries' packages
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, passwd")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "systemd, man-db, bash-completion")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${hv_gen}/debian/postinst ${hv_gen}/debian/prerm ${hv_gen}/debian/postrm
    ${hv_gen}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
include(CPack)
