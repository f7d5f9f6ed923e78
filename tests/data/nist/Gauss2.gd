# NIST StRD Gauss2 (lower difficulty): y = b1*exp( -b2*x ) + b3*exp( -(x-b4)**2 / b5**2 ) + b6*exp( -(x-b7)**2 / b8**2 ) + e
# certified values, data and both starts: Gauss2.json / Gauss2.csv
param b1 = 96.0, b2 = 0.009, b3 = 103.0, b4 = 106.0, b5 = 18.0, b6 = 72.0, b7 = 151.0, b8 = 18.0    # NIST start 1
# NIST start 2: b1 = 98.0, b2 = 0.0105, b3 = 103.0, b4 = 105.0, b5 = 20.0, b6 = 73.0, b7 = 150.0, b8 = 20.0
data x, y
model f = b1*exp(-b2*x) + b3*exp(-(x - b4)^2/b5^2) + b6*exp(-(x - b7)^2/b8^2)
loss sum((f - y)^2)
