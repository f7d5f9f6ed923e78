# NIST StRD Gauss1 (lower difficulty): y = b1*exp( -b2*x ) + b3*exp( -(x-b4)**2 / b5**2 ) + b6*exp( -(x-b7)**2 / b8**2 ) + e
# certified values, data and both starts: Gauss1.json / Gauss1.csv
param b1 = 97.0, b2 = 0.009, b3 = 100.0, b4 = 65.0, b5 = 20.0, b6 = 70.0, b7 = 178.0, b8 = 16.5    # NIST start 1
# NIST start 2: b1 = 94.0, b2 = 0.0105, b3 = 99.0, b4 = 63.0, b5 = 25.0, b6 = 71.0, b7 = 180.0, b8 = 20.0
data x, y
model f = b1*exp(-b2*x) + b3*exp(-(x - b4)^2/b5^2) + b6*exp(-(x - b7)^2/b8^2)
loss sum((f - y)^2)
